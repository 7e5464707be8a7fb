"""Extra Dockerfiles for the differential check against Docker's own parser."""

CORPUS = [
    "FROM busybox\nRUN echo hi\n",
    "from busybox AS Build\nrun echo hi\n",
    "FROM busybox\nENV A=1 B=\"x y\" C='z'\nENV D e f g\n",
    'FROM busybox\nLABEL a=b "c d"=e\nLABEL old style value\n',
    "FROM busybox\nRUN echo a \\\n  b \\\n\n  # comment\n  c\n",
    "# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY a\\b c\n",
    "# syntax=docker/dockerfile:1\n# escape=\\\nFROM busybox\n",
    'FROM busybox\nCMD ["a", "b"]\nENTRYPOINT ["x"]\nCMD a b c\n',
    "FROM busybox\nCMD [\"a\", 'b']\n",
    "FROM busybox\nCOPY --from=build --chown=1:2 --chmod=755 a b /c/\n",
    "FROM busybox\nADD --chown=me http://example.invalid/x /y\n",
    'FROM busybox\nEXPOSE 80 443/tcp 53/udp\nVOLUME /a /b\nVOLUME ["/c"]\n',
    "FROM busybox\nUSER me:grp\nWORKDIR /a\nWORKDIR b\nSTOPSIGNAL SIGKILL\n",
    'FROM busybox\nHEALTHCHECK NONE\nHEALTHCHECK --interval=1s CMD ["a"]\n',
    'FROM busybox\nSHELL ["/bin/sh", "-ec"]\nRUN echo x\n',
    "FROM busybox\nONBUILD RUN echo x\nONBUILD COPY . /app\n",
    'ARG BASE=busybox\nFROM $BASE\nARG A B=2 C="3 4"\n',
    "FROM busybox\nMAINTAINER someone <a@b.c>\n",
    "FROM --platform=linux/amd64 busybox AS one\nFROM one\n",
    "FROM busybox\n\n\n# c1\n\nRUN a\n   # indented comment\nRUN b\n",
    "FROM busybox\nRUN a \\\n",
    'FROM busybox\nENV X=a\\ b Y="c\\"d"\n',
    'FROM busybox\nCOPY ["a b", "/c d/"]\n',
    "FROM busybox\r\nRUN echo crlf\r\n",
    "\ufeffFROM busybox\nRUN echo bom\n",
    "FROM busybox\nRUN\tls\t-la\n",
    "FROM busybox\nCMD\n",
    'FROM busybox\nRUN ["echo", "unterminated"\n',
    "FROM busybox\nFOO bar\n",
    "FROM busybox\nCOPY --flag-without-value a b\n",
    "FROM busybox\nCOPY -- --weird b\n",
    'FROM busybox\nLABEL "quoted key"="v" k2=v2\n',
    "FROM busybox\nENV A\n",
    "FROM busybox\nENV A=\n",
    "FROM busybox\nRUN echo '\\\\' \\\\\n",
    "FROM busybox\nRUN <<EOF\necho hi\nEOF\nRUN echo after\n",
    'FROM busybox\nCOPY <<-"X" /a\n\thello $Y\n\tX\n',
    "FROM busybox\nRUN cat <<A <<'B'\n1\nA\n2\nB\n",
    "FROM busybox\nRUN python3 <<EOF > /out\nprint(1)\nEOF\n",
    'FROM busybox\nRUN ["echo", "<<EOF"]\nCMD x\n',
    # BuildKit's heredoc word rules: where an opener is and is not, quoted names, <<-
    "FROM busybox\nRUN cat<<EOF\nx\nEOF\n",
    'FROM busybox\nRUN echo "<<EOF"\n',
    "FROM busybox\nRUN echo '<<EOF' x\n",
    "FROM busybox\nRUN cat << EOF\nx\nEOF\n",
    "FROM busybox\nRUN cat <<END-X\nx\nEND-X\n",
    "FROM busybox\nRUN cat 2<<EOF\nx\nEOF\n",
    'FROM busybox\nRUN cat <<E"O"F\nx $A\nEOF\n',
    "FROM busybox\nRUN cat <<EOF>f\nx\nEOF\n",
    "FROM busybox\nRUN cat <<EOF >f\nx\nEOF\n",
    "FROM busybox\nCOPY <<EOF <<EOT /d/\nx\nEOF\ny\nEOT\n",
    "FROM busybox\nRUN <<$X\nx\n$X\n",
    "FROM busybox\nRUN <<-EOF\n\t\tindented\n\tEOF\nRUN echo next\n",
    "FROM busybox\nRUN <<EOF\n\tnot chomped\n\tEOF\nEOF\n",
    "FROM busybox\nRUN <<\\EOF\nx\nEOF\n",
    "FROM busybox\nRUN cat <<EOF | sh \\\n  && echo done\necho in\nEOF\n",
    "FROM busybox\nRUN cat <<EOF\nno end\n",
    "FROM busybox\nADD --chmod=600 <<one /a\n1\none\n",
    "FROM busybox\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n",
    "FROM busybox\nRUN <<EOF\n\nEOF\n",
    "FROM busybox\nRUN <<'EOF' <<\"EOT\"\n$a\nEOF\n$b\nEOT\n",
    'FROM busybox\nRUN echo "a <<EOF b"\n',
    "FROM busybox\nRUN <<EOF <<EOF\n1\nEOF\n2\nEOF\n",
    "FROM busybox\nONBUILD RUN <<EOF\necho x\nEOF\n",
]


def generated(n: int = 1000, seed: int = 6) -> list[str]:
    """Deterministic random Dockerfiles from tricky fragments (continuations, quotes,
    escapes, comments, JSON, flags, heredocs)."""
    import random

    rnd = random.Random(seed)
    heads = ["RUN", "run", "CMD", "ENTRYPOINT", "ENV", "LABEL", "COPY", "ADD", "ARG",
             "EXPOSE", "VOLUME", "USER", "WORKDIR", "SHELL", "HEALTHCHECK", "ONBUILD RUN",
             "STOPSIGNAL", "MAINTAINER"]  # fmt: skip
    words = ["a", "b=c", '"q w"', "'s t'", "x\\ y", "$V", "${V:-d}", "[", "]", '["j", "k"]',
             "--f=1", "--", "\\", "#", "k=\"v v\"", "\\\"", "é", "\t", "=", "CMD"]  # fmt: skip
    glue = [" ", "  ", " \\\n", "\\\n  ", " \\\n# c\n", " \\\n\n", "\t"]
    out = []
    for _ in range(n):
        lines = ["FROM busybox"]
        for _ in range(rnd.randint(1, 5)):
            parts = [rnd.choice(heads)]
            for _ in range(rnd.randint(0, 4)):
                parts.append(rnd.choice(glue) + rnd.choice(words))
            lines.append("".join(parts))
            if rnd.random() < 0.2:
                lines.append(rnd.choice(["", "# comment", "   # indented"]))
        if rnd.random() < 0.15:
            lines.append("RUN <<EOF\nbody $V\nEOF")
        out.append("\n".join(lines) + rnd.choice(["\n", "", "\n\n"]))
    return out
