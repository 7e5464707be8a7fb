/* Optional accelerator for jsonlog.Converter.feed (see jsonlog.py and docs/logging.md).
 *
 * runs(block, pos, skip) converts the run of plain records that starts at ``pos``: whole
 * lines whose head is conmon's in UTC ("<29-byte stamp>+00:00 stdout F "), F records and
 * the usual P records (see convert), of streams not in ``skip`` (bit 1 stdout, bit 2
 * stderr: a stream with the start of a line held by the Python side).  It stops at the
 * first record that is not such a record (another zone, a short or unterminated line, a P
 * record it does not join) and returns (Docker's lines, where it stopped); the Python side
 * handles that record and calls again.
 *
 * Each record becomes exactly what the pure-Python path writes for it:
 *   {"log":"<escaped data>\n","stream":"stdout","time":"<stamp, zeros trimmed>Z"}
 * Escapes as dockerd's: " \ as \" \\, \r as \r, other control bytes and < > & as \u00XX
 * (lowercase hex), U+2028/U+2029 as \u2028/\u2029, every byte that is not part of a valid
 * UTF-8 sequence (as Python's strict decoder judges it) as one \ufffd, the rest raw.
 * The GIL is released while converting (the input is held by a buffer view).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define HEAD 45
#define STAMP 29
#define PIECE (16 * 1024) /* dockerd's pieces (jsonlog.PIECE) */

static const char HEXD[] = "0123456789abcdef";
static const char OPEN[] = "{\"log\":\"";
static const char MID_OUT[] = "\\n\",\"stream\":\"stdout\",\"time\":\"";
static const char MID_ERR[] = "\\n\",\"stream\":\"stderr\",\"time\":\"";
static const char CLOSE[] = "Z\"}\n";

/* 0: copied as is; 1: escaped (ASCII only) */
static unsigned char esc_ascii[128];

static void init_table(void) {
    for (int c = 0; c < 128; c++)
        esc_ascii[c] = (c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&');
}

/* The length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 when it is not one. */
static Py_ssize_t utf8_len(const unsigned char *s, Py_ssize_t left) {
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    Py_ssize_t k;
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (left < k) {
        /* a truncated sequence is invalid as a whole; its bytes are judged one by one */
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (Py_ssize_t i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return k;
}

/* How many bytes from s on are copied as they are (printable ASCII but " \\ < > &).  Most
 * log text is all such bytes: 16 at a time with SSE2 (every x86-64 has it), else one by
 * one; the conversion's cost was mostly this scan. */
static Py_ssize_t plain_run(const unsigned char *s, Py_ssize_t len) {
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    /* as signed bytes, both the control bytes and every byte >= 0x80 are below 0x20 */
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&');
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, quote)),
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, bslash), _mm_cmpeq_epi8(v, lt)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, amp))));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return i + __builtin_ctz((unsigned)mask);
    }
#endif
    while (i < len && s[i] < 0x80 && !esc_ascii[s[i]]) i++;
    return i;
}

static char *escape(char *o, const unsigned char *s, Py_ssize_t len) {
    Py_ssize_t i = 0;
    while (i < len) {
        Py_ssize_t run = plain_run(s + i, len - i);
        memcpy(o, s + i, (size_t)run);
        o += run;
        i += run;
        if (i >= len) break;
        unsigned char c = s[i]; /* a byte plain_run stopped at: one to escape, or >= 0x80 */
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                *o++ = '\\';
                *o++ = (char)c;
            } else if (c == '\r') {
                *o++ = '\\';
                *o++ = 'r';
            } else if (c == '\n') { /* (never inside a record) */
                *o++ = '\\';
                *o++ = 'n';
            } else {
                memcpy(o, "\\u00", 4);
                o[4] = HEXD[c >> 4];
                o[5] = HEXD[c & 15];
                o += 6;
            }
            i++;
            continue;
        }
        Py_ssize_t k = utf8_len(s + i, len - i);
        if (!k) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            i++;
        } else if (k == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            memcpy(o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            o += 6;
            i += 3;
        } else {
            memcpy(o, s + i, (size_t)k);
            o += k;
            i += k;
        }
    }
    return o;
}

/* The output: a buffer grown as needed (no GIL needed to grow it). */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Out;

static int reserve(Out *o, Py_ssize_t more) {
    if (o->cap - o->len >= more) return 0;
    Py_ssize_t cap = o->cap * 2;
    if (cap - o->len < more) cap = o->len + more;
    char *d = PyMem_RawRealloc(o->data, (size_t)cap);
    if (!d) return -1;
    o->data = d;
    o->cap = cap;
    return 0;
}

/* Converts from pos; returns where it stopped (-1: out of memory).
 *
 * The usual P record (a read of the container's pipe that ended inside a line) is joined
 * with the next record of its stream when that is an F record and the line stays under
 * 16 KiB, at the F record's place and with the P record's time, as the Python path's held
 * line does.  Any other case of a P record (a second one before that F, a line that would
 * need pieces, a character that may be cut at the P record's end, the block's end) leaves
 * the output as it was at the P record and stops there: the Python side takes it. */
static Py_ssize_t convert(const unsigned char *b, Py_ssize_t n, Py_ssize_t pos, int skip, Out *out) {
    Py_ssize_t p = pos;
    Py_ssize_t hp = -1, hout = 0, hd = 0; /* the held P record: where, output then, size */
    int hs = 0;
    while (p < n) {
        const unsigned char *nl = memchr(b + p, '\n', (size_t)(n - p));
        if (!nl) break;
        Py_ssize_t e = nl - b;
        if (e - p < HEAD) break;
        const unsigned char *h = b + p + STAMP;
        int s;
        if (memcmp(h, "+00:00 stdout ", 14) == 0) s = 1;
        else if (memcmp(h, "+00:00 stderr ", 14) == 0) s = 2;
        else break;
        if (h[15] != ' ' || (h[14] != 'F' && h[14] != 'P') || (skip & s)) break;
        const unsigned char *data = b + p + HEAD;
        Py_ssize_t d = e - p - HEAD;
        if (h[14] == 'P') {
            if (hp >= 0 || d >= PIECE) break;
            /* a character cut by the read is escaped whole by the Python path */
            for (Py_ssize_t i = d > 3 ? d - 3 : 0; i < d; i++)
                if (data[i] >= 0x80) goto stop;
            hp = p, hout = out->len, hd = d, hs = s;
            p = e + 1;
            continue;
        }
        int joined = hp >= 0 && s == hs;
        if (joined && hd + d >= PIECE) break;
        const unsigned char *stamp = joined ? b + hp : b + p;
        /* at most 6 bytes an input byte, and the fixed parts */
        if (reserve(out, 6 * (d + (joined ? hd : 0)) + 128) < 0) return -1;
        char *o = out->data + out->len;
        memcpy(o, OPEN, sizeof OPEN - 1);
        o += sizeof OPEN - 1;
        if (joined) o = escape(o, b + hp + HEAD, hd);
        o = escape(o, data, d);
        memcpy(o, s == 1 ? MID_OUT : MID_ERR, sizeof MID_OUT - 1);
        o += sizeof MID_OUT - 1;
        /* the stamp as Python's rstrip(b"0").rstrip(b".") leaves it */
        Py_ssize_t k = STAMP;
        while (k > 0 && stamp[k - 1] == '0') k--;
        while (k > 0 && stamp[k - 1] == '.') k--;
        memcpy(o, stamp, (size_t)k);
        o += k;
        memcpy(o, CLOSE, sizeof CLOSE - 1);
        o += sizeof CLOSE - 1;
        out->len = o - out->data;
        if (joined) hp = -1;
        p = e + 1;
    }
stop:
    if (hp >= 0) { /* a P record left unjoined: the Python side's, from there */
        out->len = hout;
        p = hp;
    }
    return p;
}

static PyObject *runs(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t pos;
    int skip;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*ni:runs", &buf, &pos, &skip)) return NULL;
    Py_ssize_t n = buf.len;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "runs: pos out of range");
        return NULL;
    }
    /* Docker's lines are about 1.2x conmon's records for text: a first guess of 1.5x the
     * rest of the block (at most 64 KiB of it: a run usually ends at the next read; grown when a run needs more) */
    Py_ssize_t left = n - pos;
    Out out = {NULL, 0, (left < (64 << 10) ? left : (64 << 10)) * 3 / 2 + 256};
    out.data = PyMem_RawMalloc((size_t)out.cap);
    if (!out.data) {
        PyBuffer_Release(&buf);
        return PyErr_NoMemory();
    }
    Py_ssize_t stop;
    Py_BEGIN_ALLOW_THREADS
    stop = convert((const unsigned char *)buf.buf, n, pos, skip, &out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyObject *data = stop < 0 ? PyErr_NoMemory() : PyBytes_FromStringAndSize(out.data, out.len);
    PyMem_RawFree(out.data);
    if (!data) return NULL;
    return Py_BuildValue("(Nn)", data, stop);
}

static PyMethodDef methods[] = {
    {"runs", runs, METH_VARARGS,
     "runs(block, pos, skip) -> (lines, stop): conmon's plain F records in UTC from pos -> "
     "Docker's json-file lines, up to the first other record (stop)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "cove.logdriver._jsonlog",
    "C accelerator for cove.logdriver.jsonlog (optional; the Python path is the reference).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsonlog(void) {
    init_table();
    return PyModule_Create(&module);
}
