"""cove: archive package: layer tars (safe extraction, whiteouts, compression, writing)."""

from cove.archive.compression import HashingReader, decompress, detect_compression, diff_id
from cove.archive.extract import WhiteoutMode, extract_layer
from cove.archive.tarwriter import tar_changes, tar_directory, tar_stream

__all__ = [
    "HashingReader",
    "WhiteoutMode",
    "decompress",
    "detect_compression",
    "diff_id",
    "extract_layer",
    "tar_changes",
    "tar_directory",
    "tar_stream",
]
