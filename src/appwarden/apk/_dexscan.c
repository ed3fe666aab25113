/*
 * C accelerator for appwarden.apk.dex: class_data decoding and the one-pass code scan.
 *
 * Every function here has a pure-Python twin in dex.py (_class_data_py, _scan_code_py) with
 * identical output; tests compare them byte for byte. All reads are bounds-checked against the
 * buffer length; nothing trusts a count or offset from the file.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t *v;
    size_t len;
    size_t cap;
} u32buf;

static int buf_push(u32buf *b, const uint32_t *vals, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        uint32_t *nv = (uint32_t *)PyMem_Realloc(b->v, cap * sizeof(uint32_t));
        if (!nv) {
            PyErr_NoMemory();
            return -1;
        }
        b->v = nv;
        b->cap = cap;
    }
    memcpy(b->v + b->len, vals, n * sizeof(uint32_t));
    b->len += n;
    return 0;
}

static PyObject *buf_to_bytes(u32buf *b) {
    /* Records are stored little-endian, as the Python twin produces them. */
#if PY_BIG_ENDIAN
    for (size_t i = 0; i < b->len; i++) b->v[i] = __builtin_bswap32(b->v[i]);
#endif
    return PyBytes_FromStringAndSize((const char *)b->v, (Py_ssize_t)(b->len * sizeof(uint32_t)));
}

/* An output table grown inside a bytearray, so the result is handed over without a final copy
 * (peak memory stays near the table size, which matters for multi-MB DEX files). */
typedef struct {
    PyObject *ba;
    size_t len; /* in uint32 words */
    size_t cap;
} outbuf;

static int out_push4(outbuf *b, uint32_t a, uint32_t c, uint32_t d, uint32_t e) {
    if (b->len + 4 > b->cap) {
        size_t cap = b->cap ? b->cap + b->cap / 2 + 4 : 4096;
        if (!b->ba) {
            b->ba = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cap * 4));
            if (!b->ba) return -1;
        } else if (PyByteArray_Resize(b->ba, (Py_ssize_t)(cap * 4)) < 0) {
            return -1;
        }
        b->cap = cap;
    }
    uint32_t *v = (uint32_t *)PyByteArray_AS_STRING(b->ba) + b->len;
#if PY_BIG_ENDIAN
    v[0] = __builtin_bswap32(a); v[1] = __builtin_bswap32(c); v[2] = __builtin_bswap32(d); v[3] = __builtin_bswap32(e);
#else
    v[0] = a; v[1] = c; v[2] = d; v[3] = e;
#endif
    b->len += 4;
    return 0;
}

static int add_problem(PyObject *list, const char *code, uint64_t ctx, uint64_t a, uint64_t b);

/* Pass 0 counts rows, pass 1 writes them into the table allocated between the passes. */
static int emit(int pass, outbuf *b, uint32_t a, uint32_t c, uint32_t d, uint32_t e) {
    if (!pass) {
        b->len += 4;
        return 0;
    }
    if (b->len + 4 > b->cap) {
        PyErr_SetString(PyExc_RuntimeError, "DEX scan: second pass found more rows than the first");
        return -1;
    }
    return out_push4(b, a, c, d, e);
}

static int problem(int pass, PyObject *list, const char *code, uint64_t ctx, uint64_t a, uint64_t b) {
    return pass ? add_problem(list, code, ctx, a, b) : 0;
}

static PyObject *out_finish(outbuf *b) {
    if (!b->ba) return PyByteArray_FromStringAndSize(NULL, 0);
    if (PyByteArray_Resize(b->ba, (Py_ssize_t)(b->len * 4)) < 0) return NULL;
    PyObject *r = b->ba;
    b->ba = NULL;
    return r;
}

static int add_problem(PyObject *list, const char *code, uint64_t ctx, uint64_t a, uint64_t b) {
    PyObject *t = Py_BuildValue("(sKKK)", code, (unsigned long long)ctx, (unsigned long long)a,
                                (unsigned long long)b);
    if (!t) return -1;
    int rc = PyList_Append(list, t);
    Py_DECREF(t);
    return rc;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Same rules as dex.read_uleb128: at most 5 bytes, value fits in 32 bits. Returns 0 on error. */
static int uleb(const uint8_t *d, size_t end, size_t *pos, uint32_t *out) {
    uint32_t result = 0;
    int shift = 0;
    for (int i = 0; i < 5; i++) {
        if (*pos >= end) return 0;
        uint8_t b = d[(*pos)++];
        result |= (uint32_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            if (i == 4 && b > 0x0f) return 0;
            *out = result;
            return 1;
        }
        shift += 7;
    }
    return 0;
}

static int get_u32_array(PyObject *obj, Py_buffer *view, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != 4) {
        PyErr_Format(PyExc_TypeError, "%s must be a buffer of 32-bit unsigned integers", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* class_data(data, class_data_offs, class_type_idxs, method_class_idx) -> (bytes, problems) */
static PyObject *class_data(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_offs, *o_types, *o_mclass;
    if (!PyArg_ParseTuple(args, "OOOO", &o_data, &o_offs, &o_types, &o_mclass)) return NULL;
    Py_buffer data = {0}, offs = {0}, types = {0}, mclass = {0};
    PyObject *problems = NULL, *result = NULL;
    u32buf out = {0}, staged = {0};
    if (PyObject_GetBuffer(o_data, &data, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (get_u32_array(o_offs, &offs, "class_data_offs") < 0) goto done_data;
    if (get_u32_array(o_types, &types, "class_type_idxs") < 0) goto done_offs;
    if (get_u32_array(o_mclass, &mclass, "method_class_idx") < 0) goto done_types;
    problems = PyList_New(0);
    if (!problems) goto done;
    {
        const uint8_t *d = (const uint8_t *)data.buf;
        size_t n = (size_t)data.len;
        const uint32_t *class_offs = (const uint32_t *)offs.buf;
        const uint32_t *class_types = (const uint32_t *)types.buf;
        const uint32_t *method_class = (const uint32_t *)mclass.buf;
        size_t n_classes = (size_t)(offs.len / 4);
        uint64_t n_methods = (uint64_t)(mclass.len / 4);
        if ((size_t)(types.len / 4) < n_classes) {
            PyErr_SetString(PyExc_ValueError, "class_type_idxs is shorter than class_data_offs");
            goto done;
        }
        for (size_t cp = 0; cp < n_classes; cp++) {
            uint32_t off = class_offs[cp];
            if (off == 0) continue;
            if ((size_t)off >= n) {
                if (add_problem(problems, "class_data_out_of_range", cp, off, 0) < 0) goto done;
                continue;
            }
            size_t pos = off;
            uint32_t sizes[4];
            int ok = 1;
            for (int i = 0; i < 4 && ok; i++) ok = uleb(d, n, &pos, &sizes[i]);
            if (!ok) {
                if (add_problem(problems, "class_data_truncated", cp, off, 0) < 0) goto done;
                continue;
            }
            uint64_t n_fields = (uint64_t)sizes[0] + sizes[1];
            uint64_t n_meth = (uint64_t)sizes[2] + sizes[3];
            if (n_fields * 2 + n_meth * 3 > (uint64_t)(n - pos)) {
                if (add_problem(problems, "class_data_counts", cp, off, n_fields + n_meth) < 0) goto done;
                continue;
            }
            uint32_t tmp;
            for (uint64_t f = 0; f < n_fields && ok; f++) {
                ok = uleb(d, n, &pos, &tmp);
                if (ok) ok = uleb(d, n, &pos, &tmp);
            }
            staged.len = 0;
            int bad = 0;
            for (uint32_t is_virtual = 0; is_virtual < 2 && ok && !bad; is_virtual++) {
                uint64_t idx = 0;
                for (uint32_t k = 0; k < sizes[2 + is_virtual]; k++) {
                    uint32_t diff, flags, code_off;
                    ok = uleb(d, n, &pos, &diff) && uleb(d, n, &pos, &flags) && uleb(d, n, &pos, &code_off);
                    if (!ok) break;
                    if (k > 0 && diff == 0) {
                        if (add_problem(problems, "method_index_repeated", cp, idx, 0) < 0) goto done;
                        continue;
                    }
                    idx = (k == 0) ? diff : idx + diff;
                    if (idx >= n_methods) {
                        if (add_problem(problems, "method_index_out_of_range", cp, idx, n_methods) < 0) goto done;
                        bad = 1;
                        break;
                    }
                    if (method_class[idx] != class_types[cp]) {
                        if (add_problem(problems, "method_class_mismatch", cp, idx, 0) < 0) goto done;
                        continue;
                    }
                    uint32_t rec[5] = {(uint32_t)cp, is_virtual, (uint32_t)idx, flags, code_off};
                    if (buf_push(&staged, rec, 5) < 0) goto done;
                }
            }
            if (!ok) {
                if (add_problem(problems, "class_data_truncated", cp, off, 0) < 0) goto done;
                continue;
            }
            if (staged.len && buf_push(&out, staged.v, staged.len) < 0) goto done;
        }
        PyObject *packed = buf_to_bytes(&out);
        if (!packed) goto done;
        result = Py_BuildValue("(NO)", packed, problems);
    }
done:
    Py_XDECREF(problems);
    PyMem_Free(out.v);
    PyMem_Free(staged.v);
    PyBuffer_Release(&mclass);
done_types:
    PyBuffer_Release(&types);
done_offs:
    PyBuffer_Release(&offs);
done_data:
    PyBuffer_Release(&data);
    return result;
}

/* Width in code units of each opcode; must equal dex._WIDTHS. */
static uint8_t WIDTHS[256];

static void init_widths(void) {
    static const struct {
        int lo, hi, w;
    } ranges[] = {
        {0x00, 0x01, 1}, {0x02, 0x02, 2}, {0x03, 0x03, 3}, {0x04, 0x04, 1}, {0x05, 0x05, 2}, {0x06, 0x06, 3},
        {0x07, 0x07, 1}, {0x08, 0x08, 2}, {0x09, 0x09, 3}, {0x0a, 0x12, 1}, {0x13, 0x13, 2}, {0x14, 0x14, 3},
        {0x15, 0x16, 2}, {0x17, 0x17, 3}, {0x18, 0x18, 5}, {0x19, 0x1a, 2}, {0x1b, 0x1b, 3}, {0x1c, 0x1c, 2},
        {0x1d, 0x1e, 1}, {0x1f, 0x20, 2}, {0x21, 0x21, 1}, {0x22, 0x23, 2}, {0x24, 0x26, 3}, {0x27, 0x28, 1},
        {0x29, 0x29, 2}, {0x2a, 0x2c, 3}, {0x2d, 0x3d, 2}, {0x3e, 0x43, 1}, {0x44, 0x6d, 2}, {0x6e, 0x72, 3},
        {0x73, 0x73, 1}, {0x74, 0x78, 3}, {0x79, 0x8f, 1}, {0x90, 0xaf, 2}, {0xb0, 0xcf, 1}, {0xd0, 0xe2, 2},
        {0xe3, 0xf9, 1}, {0xfa, 0xfb, 4}, {0xfc, 0xfd, 3}, {0xfe, 0xff, 2},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        for (int op = ranges[i].lo; op <= ranges[i].hi; op++) WIDTHS[op] = (uint8_t)ranges[i].w;
}

/* scan_code(data, methods(pairs method_idx, code_off), counts(5), max_units, budget)
 *   -> ((invokes, strings, fields, classes), walked, problems); each table packed uint32 rows */
static PyObject *scan_code(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_methods;
    unsigned long long n_strings, n_types, n_fields, n_methods, n_call_sites, max_units, budget;
    /* Optional filters (empty: keep every row): a flag per opcode, and a flag per string id for
     * const-string rows. Operands are range-checked (and problems recorded) either way. */
    Py_buffer op_keep = {0}, string_keep = {0};
    if (!PyArg_ParseTuple(args, "OO(KKKKK)KK|y*y*", &o_data, &o_methods, &n_strings, &n_types, &n_fields, &n_methods,
                          &n_call_sites, &max_units, &budget, &op_keep, &string_keep))
        return NULL;
    if (op_keep.buf && op_keep.len != 0 && op_keep.len != 256) {
        PyErr_SetString(PyExc_ValueError, "op_keep must hold 256 flags or none");
        PyBuffer_Release(&op_keep);
        PyBuffer_Release(&string_keep);
        return NULL;
    }
    const uint8_t *op_flags = op_keep.len ? (const uint8_t *)op_keep.buf : NULL;
    const uint8_t *string_flags = string_keep.len ? (const uint8_t *)string_keep.buf : NULL;
    const uint64_t n_string_flags = (uint64_t)string_keep.len;
    Py_buffer data = {0}, meth = {0};
    PyObject *problems = NULL, *result = NULL;
    outbuf tables[4] = {{0}}; /* invokes, strings, fields, const-class */
    uint64_t walked = 0;
    if (PyObject_GetBuffer(o_data, &data, PyBUF_C_CONTIGUOUS) < 0) goto done;
    if (get_u32_array(o_methods, &meth, "methods") < 0) goto done;
    problems = PyList_New(0);
    if (!problems) goto done;
    {
        const uint8_t *d = (const uint8_t *)data.buf;
        uint64_t n = (uint64_t)data.len;
        const uint32_t *m = (const uint32_t *)meth.buf;
        size_t n_pairs = (size_t)(meth.len / 8);
        /* Two identical walks: the first only counts rows, so each table is allocated once at its
         * exact size (no growth slack); the second fills the tables and records problems. */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                for (int i = 0; i < 4; i++) {
                    tables[i].ba = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(tables[i].len * 4));
                    if (!tables[i].ba) goto done;
                    tables[i].cap = tables[i].len;
                    tables[i].len = 0;
                }
            }
            uint64_t spent = 0;
            for (size_t k = 0; k < n_pairs; k++) {
                uint32_t midx = m[2 * k], code_off = m[2 * k + 1];
                if (code_off == 0) continue;
                if (n < 16 || (uint64_t)code_off > n - 16) {
                    if (problem(pass, problems, "code_item_out_of_range", midx, code_off, 0) < 0) goto done;
                    continue;
                }
                uint64_t insns_size = rd32(d + code_off + 12);
                if (insns_size > max_units) {
                    if (problem(pass, problems, "code_too_large", midx, insns_size, max_units) < 0) goto done;
                    continue;
                }
                uint64_t base = (uint64_t)code_off + 16;
                uint64_t available = (n - base) / 2;
                if (insns_size > available) {
                    if (problem(pass, problems, "code_item_truncated", midx, insns_size, available) < 0) goto done;
                    insns_size = available;
                }
                if (spent + insns_size > budget) {
                    if (problem(pass, problems, "scan_budget_exceeded", midx, budget, 0) < 0) goto done;
                    break;
                }
                spent += insns_size;
                if (pass) walked += insns_size;
                const uint8_t *code = d + base;
                uint64_t pc = 0;
                while (pc < insns_size) {
                    uint16_t unit = rd16(code + 2 * pc);
                    uint32_t op = unit & 0xff;
                    uint64_t width;
                    if (op == 0 && unit != 0) {
                        uint32_t ident = unit >> 8;
                        width = 1;
                        if (ident >= 1 && ident <= 3) {
                            if (pc + 1 >= insns_size || (ident == 3 && pc + 3 >= insns_size)) {
                                if (problem(pass, problems, "instruction_past_end", midx, pc, unit) < 0) goto done;
                                break;
                            }
                            uint64_t size = rd16(code + 2 * pc + 2);
                            if (ident == 1)
                                width = 4 + size * 2;
                            else if (ident == 2)
                                width = 2 + size * 4;
                            else
                                width = 4 + (size * (uint64_t)rd32(code + 2 * pc + 4) + 1) / 2;
                        }
                        if (pc + width > insns_size) {
                            if (problem(pass, problems, "instruction_past_end", midx, pc, unit) < 0) goto done;
                            break;
                        }
                        pc += width;
                        continue;
                    }
                    width = WIDTHS[op];
                    if (pc + width > insns_size) {
                        if (problem(pass, problems, "instruction_past_end", midx, pc, unit) < 0) goto done;
                        break;
                    }
                    uint64_t idx, limit;
                    int table;
                    if (op == 0x1a) {
                        idx = rd16(code + 2 * pc + 2);
                        limit = n_strings;
                        table = 1;
                    } else if (op == 0x1b) {
                        idx = rd32(code + 2 * pc + 2);
                        limit = n_strings;
                        table = 1;
                    } else if (op == 0x1c) {
                        idx = rd16(code + 2 * pc + 2);
                        limit = n_types;
                        table = 3;
                    } else if (op >= 0x52 && op <= 0x6d) {
                        idx = rd16(code + 2 * pc + 2);
                        limit = n_fields;
                        table = 2;
                    } else if ((op >= 0x6e && op <= 0x78 && op != 0x73) || op == 0xfa || op == 0xfb) {
                        idx = rd16(code + 2 * pc + 2);
                        limit = n_methods;
                        table = 0;
                    } else if (op == 0xfc || op == 0xfd) {
                        idx = rd16(code + 2 * pc + 2);
                        limit = n_call_sites;
                        table = 0;
                    } else {
                        pc += width;
                        continue;
                    }
                    if (idx < limit) {
                        int keep = (!op_flags || op_flags[op]) &&
                                   (table != 1 || !string_flags || (idx < n_string_flags && string_flags[idx]));
                        if (keep && emit(pass, &tables[table], midx, op, (uint32_t)idx, (uint32_t)pc) < 0) goto done;
                    } else if (problem(pass, problems, "operand_out_of_range", midx, pc, op) < 0) {
                        goto done;
                    }
                    pc += width;
                }
            }
        }
        PyObject *t[4];
        for (int i = 0; i < 4; i++) {
            t[i] = out_finish(&tables[i]);
            if (!t[i]) {
                for (int j = 0; j < i; j++) Py_DECREF(t[j]);
                goto done;
            }
        }
        result = Py_BuildValue("((NNNN)KO)", t[0], t[1], t[2], t[3], (unsigned long long)walked, problems);
    }
done:
    Py_XDECREF(problems);
    for (int i = 0; i < 4; i++) Py_XDECREF(tables[i].ba);
    PyBuffer_Release(&meth);
    PyBuffer_Release(&data);
    PyBuffer_Release(&string_keep);
    PyBuffer_Release(&op_keep);
    return result;
}

/* The string_data bytes of string `idx` when it is plain ASCII, well formed and exactly as long as
 * its declared length (the strings ascii_strings decodes); 0 otherwise. */
static int ascii_string_at(const uint8_t *d, size_t n, const uint32_t *off_v, size_t n_offs, uint32_t idx,
                           const char **start, size_t *len) {
    if (idx >= n_offs) return 0;
    size_t pos = off_v[idx];
    uint64_t size = 0;
    int ok = 0;
    for (int k = 0; k < 5 && pos < n; k++) {
        uint8_t b = d[pos++];
        size |= (uint64_t)(b & 0x7F) << (7 * k);
        if (!(b & 0x80)) {
            ok = 1;
            break;
        }
    }
    if (!ok || size >= n || pos + size >= n || d[pos + size] != 0) return 0;
    for (size_t j = 0; j < size; j++)
        if (d[pos + j] == 0 || d[pos + j] >= 0x80) return 0;
    *start = (const char *)d + pos;
    *len = (size_t)size;
    return 1;
}

typedef struct {
    char *buf;
    size_t len, cap;
} charbuf;

static int cb_put(charbuf *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *nb = PyMem_Realloc(b->buf, cap);
        if (!nb) {
            PyErr_NoMemory();
            return -1;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    return 0;
}

/* ascii_strings(data, string_offs, idxs) -> list of str or None, one per idx.
 * A str only for the common case: a valid uleb128 length, that many bytes all in 0x01..0x7F,
 * then the NUL terminator (ascii_string_at). Anything else is None and dex.py decodes it (with its
 * warnings). */
static PyObject *ascii_strings(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_offs, *o_idxs;
    if (!PyArg_ParseTuple(args, "OOO", &o_data, &o_offs, &o_idxs)) return NULL;
    Py_buffer data = {0}, offs = {0}, idxs = {0};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o_data, &data, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_offs, &offs, "string_offs") < 0) goto done;
    if (get_u32_array(o_idxs, &idxs, "idxs") < 0) goto done;
    const uint8_t *d = (const uint8_t *)data.buf;
    const size_t n = (size_t)data.len;
    const uint32_t *off_v = (const uint32_t *)offs.buf;
    const size_t n_offs = (size_t)offs.len / 4;
    const uint32_t *idx_v = (const uint32_t *)idxs.buf;
    const size_t n_idx = (size_t)idxs.len / 4;
    result = PyList_New((Py_ssize_t)n_idx);
    if (!result) goto done;
    for (size_t i = 0; i < n_idx; i++) {
        PyObject *item;
        const char *s;
        size_t len;
        if (ascii_string_at(d, n, off_v, n_offs, idx_v[i], &s, &len)) {
            item = PyUnicode_DecodeASCII(s, (Py_ssize_t)len, NULL);
            if (!item) {
                Py_CLEAR(result);
                goto done;
            }
        } else {
            item = Py_None;
            Py_INCREF(item);
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, item);
    }
done:
    PyBuffer_Release(&idxs);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return result;
}

/* The packed form of ascii_strings, and the prototype texts: every text of the batch in one buffer.
 * Each returns (texts, ends, misses): the texts' bytes back to back, the end offset of each text in
 * that buffer (uint32 LE, one per idx), and the positions among idxs (uint32 LE) of the texts that
 * are not plain ASCII: those are empty here and dex.py builds them (with their warnings) and splices
 * them in. A batch of 10^4..10^5 names or prototypes then costs its bytes, not a str object each. */
typedef struct {
    charbuf text;
    u32buf ends, misses;
} packed;

static PyObject *packed_finish(packed *p) {
    PyObject *texts = PyBytes_FromStringAndSize(p->text.buf ? p->text.buf : "", (Py_ssize_t)p->text.len);
    PyObject *ends = texts ? buf_to_bytes(&p->ends) : NULL;
    PyObject *misses = ends ? buf_to_bytes(&p->misses) : NULL;
    PyObject *result = misses ? PyTuple_Pack(3, texts, ends, misses) : NULL;
    Py_XDECREF(texts);
    Py_XDECREF(ends);
    Py_XDECREF(misses);
    return result;
}

static void packed_free(packed *p) {
    PyMem_Free(p->text.buf);
    PyMem_Free(p->ends.v);
    PyMem_Free(p->misses.v);
}

static int packed_end(packed *p, uint32_t i, int ok, size_t mark) {
    if (!ok) {
        p->text.len = mark;
        if (buf_push(&p->misses, &i, 1) < 0) return -1;
    }
    if (p->text.len > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "packed texts over 4 GiB");
        return -1;
    }
    uint32_t end = (uint32_t)p->text.len;
    return buf_push(&p->ends, &end, 1);
}

/* ascii_strings_packed(data, string_offs, idxs) -> (texts, ends, misses); see packed. */
static PyObject *ascii_strings_packed(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_offs, *o_idxs;
    if (!PyArg_ParseTuple(args, "OOO", &o_data, &o_offs, &o_idxs)) return NULL;
    Py_buffer data = {0}, offs = {0}, idxs = {0};
    PyObject *result = NULL;
    packed out = {0};
    if (PyObject_GetBuffer(o_data, &data, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_offs, &offs, "string_offs") < 0) goto done;
    if (get_u32_array(o_idxs, &idxs, "idxs") < 0) goto done;
    const uint8_t *d = (const uint8_t *)data.buf;
    const size_t n = (size_t)data.len;
    const uint32_t *off_v = (const uint32_t *)offs.buf;
    const size_t n_offs = (size_t)offs.len / 4;
    const uint32_t *idx_v = (const uint32_t *)idxs.buf;
    const size_t n_idx = (size_t)idxs.len / 4;
    for (size_t i = 0; i < n_idx; i++) {
        const char *s;
        size_t len, mark = out.text.len;
        int ok = ascii_string_at(d, n, off_v, n_offs, idx_v[i], &s, &len);
        if (ok && cb_put(&out.text, s, len) < 0) goto done;
        if (packed_end(&out, (uint32_t)i, ok, mark) < 0) goto done;
    }
    result = packed_finish(&out);
done:
    packed_free(&out);
    PyBuffer_Release(&idxs);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return result;
}

/* ascii_protos_packed(data, string_offs, type_ids, proto_rows, idxs) -> (texts, ends, misses).
 * proto_rows holds (shorty, return type, parameters offset) per proto_id. A text "(params)ret" only
 * when the parameter type_list lies inside the file and every type index and type name is in range
 * and plain ASCII (see ascii_strings); anything else is a miss, which dex.py builds (with its errors
 * and warnings). */
static PyObject *ascii_protos_packed(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_offs, *o_types, *o_rows, *o_idxs;
    if (!PyArg_ParseTuple(args, "OOOOO", &o_data, &o_offs, &o_types, &o_rows, &o_idxs)) return NULL;
    Py_buffer data = {0}, offs = {0}, types = {0}, rows = {0}, idxs = {0};
    PyObject *result = NULL;
    packed out = {0};
    if (PyObject_GetBuffer(o_data, &data, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_offs, &offs, "string_offs") < 0) goto done;
    if (get_u32_array(o_types, &types, "type_ids") < 0) goto done;
    if (get_u32_array(o_rows, &rows, "proto_rows") < 0) goto done;
    if (get_u32_array(o_idxs, &idxs, "idxs") < 0) goto done;
    const uint8_t *d = (const uint8_t *)data.buf;
    const size_t n = (size_t)data.len;
    const uint32_t *off_v = (const uint32_t *)offs.buf;
    const size_t n_offs = (size_t)offs.len / 4;
    const uint32_t *type_v = (const uint32_t *)types.buf;
    const size_t n_types = (size_t)types.len / 4;
    const uint32_t *row_v = (const uint32_t *)rows.buf;
    const size_t n_protos = (size_t)rows.len / 12;
    const uint32_t *idx_v = (const uint32_t *)idxs.buf;
    const size_t n_idx = (size_t)idxs.len / 4;
    for (size_t i = 0; i < n_idx; i++) {
        uint32_t idx = idx_v[i];
        int ok = idx < n_protos;
        const char *s;
        size_t len, mark = out.text.len;
        if (ok && cb_put(&out.text, "(", 1) < 0) goto done;
        uint32_t params_off = ok ? row_v[3 * (size_t)idx + 2] : 0;
        if (ok && params_off != 0) {
            if (n < 4 || params_off > n - 4) {
                ok = 0;
            } else {
                uint32_t count = rd32(d + params_off);
                if ((uint64_t)params_off + 4 + 2 * (uint64_t)count > n) ok = 0;
                for (uint32_t k = 0; ok && k < count; k++) {
                    uint16_t t = rd16(d + params_off + 4 + 2 * (size_t)k);
                    ok = t < n_types && ascii_string_at(d, n, off_v, n_offs, type_v[t], &s, &len);
                    if (ok && cb_put(&out.text, s, len) < 0) goto done;
                }
            }
        }
        if (ok) {
            uint32_t ret = row_v[3 * (size_t)idx + 1];
            ok = ret < n_types && ascii_string_at(d, n, off_v, n_offs, type_v[ret], &s, &len);
            if (ok && (cb_put(&out.text, ")", 1) < 0 || cb_put(&out.text, s, len) < 0)) goto done;
        }
        if (packed_end(&out, (uint32_t)i, ok, mark) < 0) goto done;
    }
    result = packed_finish(&out);
done:
    packed_free(&out);
    PyBuffer_Release(&idxs);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&types);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return result;
}

/* unpack_texts(texts, starts, positions) -> [texts[starts[p]:starts[p + 1]] as str for p in positions].
 * texts is UTF-8 (lone surrogates as their 3-byte forms, "surrogatepass"); starts holds n + 1
 * uint32 offsets; positions are uint32 in range. */
static PyObject *unpack_texts(PyObject *self, PyObject *args) {
    PyObject *o_texts, *o_starts, *o_pos;
    if (!PyArg_ParseTuple(args, "OOO", &o_texts, &o_starts, &o_pos)) return NULL;
    Py_buffer texts = {0}, starts = {0}, pos = {0};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o_texts, &texts, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_starts, &starts, "starts") < 0) goto done;
    if (get_u32_array(o_pos, &pos, "positions") < 0) goto done;
    const char *t = (const char *)texts.buf;
    const uint32_t *sv = (const uint32_t *)starts.buf;
    const size_t n_starts = (size_t)starts.len / 4;
    const uint32_t *pv = (const uint32_t *)pos.buf;
    const size_t n_pos = (size_t)pos.len / 4;
    result = PyList_New((Py_ssize_t)n_pos);
    if (!result) goto done;
    for (size_t i = 0; i < n_pos; i++) {
        uint32_t p = pv[i];
        if ((size_t)p + 1 >= n_starts || sv[p] > sv[p + 1] || sv[p + 1] > (size_t)texts.len) {
            PyErr_SetString(PyExc_IndexError, "unpack_texts position out of range");
            Py_CLEAR(result);
            goto done;
        }
        PyObject *item = PyUnicode_DecodeUTF8(t + sv[p], (Py_ssize_t)(sv[p + 1] - sv[p]), "surrogatepass");
        if (!item) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, item);
    }
done:
    PyBuffer_Release(&pos);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&texts);
    return result;
}

/* join_texts(left, right, left_idx, right_idx, sep) -> [left[left_idx[i]] + sep + right[right_idx[i]]].
 * left and right are lists of str; the index arrays are uint32 of equal length. The batch form of
 * the string concatenations that name every method and field (10^4..10^5 per DEX). */
static PyObject *join_texts(PyObject *self, PyObject *args) {
    PyObject *left, *right, *o_li, *o_ri, *sep;
    if (!PyArg_ParseTuple(args, "O!O!OOU", &PyList_Type, &left, &PyList_Type, &right, &o_li, &o_ri, &sep))
        return NULL;
    Py_buffer li = {0}, ri = {0};
    PyObject *result = NULL;
    if (get_u32_array(o_li, &li, "left_idx") < 0) return NULL;
    if (get_u32_array(o_ri, &ri, "right_idx") < 0) goto done;
    const size_t n = (size_t)li.len / 4;
    if ((size_t)ri.len / 4 != n) {
        PyErr_SetString(PyExc_ValueError, "left_idx and right_idx differ in length");
        goto done;
    }
    const uint32_t *lv = (const uint32_t *)li.buf, *rv = (const uint32_t *)ri.buf;
    const Py_ssize_t n_left = PyList_GET_SIZE(left), n_right = PyList_GET_SIZE(right);
    result = PyList_New((Py_ssize_t)n);
    if (!result) goto done;
    for (size_t i = 0; i < n; i++) {
        if ((Py_ssize_t)lv[i] >= n_left || (Py_ssize_t)rv[i] >= n_right) {
            PyErr_SetString(PyExc_IndexError, "join_texts index out of range");
            Py_CLEAR(result);
            goto done;
        }
        PyObject *a = PyList_GET_ITEM(left, lv[i]), *b = PyList_GET_ITEM(right, rv[i]);
        if (!PyUnicode_Check(a) || !PyUnicode_Check(b)) {
            PyErr_SetString(PyExc_TypeError, "join_texts joins str only");
            Py_CLEAR(result);
            goto done;
        }
        Py_ssize_t la = PyUnicode_GET_LENGTH(a), ls = PyUnicode_GET_LENGTH(sep), lb = PyUnicode_GET_LENGTH(b);
        Py_UCS4 maxchar = PyUnicode_MAX_CHAR_VALUE(a);
        if (PyUnicode_MAX_CHAR_VALUE(sep) > maxchar) maxchar = PyUnicode_MAX_CHAR_VALUE(sep);
        if (PyUnicode_MAX_CHAR_VALUE(b) > maxchar) maxchar = PyUnicode_MAX_CHAR_VALUE(b);
        PyObject *joined = PyUnicode_New(la + ls + lb, maxchar);
        if (!joined || PyUnicode_CopyCharacters(joined, 0, a, 0, la) < 0 ||
            PyUnicode_CopyCharacters(joined, la, sep, 0, ls) < 0 ||
            PyUnicode_CopyCharacters(joined, la + ls, b, 0, lb) < 0) {
            Py_XDECREF(joined);
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, joined);
    }
done:
    PyBuffer_Release(&ri);
    PyBuffer_Release(&li);
    return result;
}

static inline uint8_t fold(uint8_t c, int ignore_case) {
    return (ignore_case && c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int needle_hit(PyObject *list, const uint8_t *d, Py_ssize_t i, Py_ssize_t end, int folded) {
    const Py_ssize_t n = PyList_GET_SIZE(list);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *nd = PyList_GET_ITEM(list, k);
        const uint8_t *nb = (const uint8_t *)PyBytes_AS_STRING(nd);
        Py_ssize_t len = PyBytes_GET_SIZE(nd);
        if (len > end - i) continue;
        Py_ssize_t j = 0;
        while (j < len && fold(d[i + j], folded) == nb[j]) j++;
        if (j == len) return 1;
    }
    return 0;
}

static int check_needles(PyObject *list) {
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
        PyObject *nd = PyList_GET_ITEM(list, k);
        if (!PyBytes_Check(nd) || PyBytes_GET_SIZE(nd) < 2) {
            PyErr_SetString(PyExc_ValueError, "find_needles: needles must be bytes of at least 2 bytes");
            return -1;
        }
    }
    return 0;
}

/* find_needles(data, first, end, starts, needles, folded_needles) -> bytes of uint32 positions.
 * One pass over data[first:end] for every needle at once (each at least 2 bytes): ``needles``
 * match exactly, ``folded_needles`` (lower case) match ASCII letters of the data in either case.
 * After a hit, the search resumes after the next NUL but never past the next string start
 * (starts: string offsets relative to first, sorted): one position per string, as
 * DexFile.strings_containing's Python loop gives for each list. */
static PyObject *find_needles(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_starts, *needles, *folded;
    Py_ssize_t first, end;
    if (!PyArg_ParseTuple(args, "OnnOO!O!", &o_data, &first, &end, &o_starts, &PyList_Type, &needles, &PyList_Type,
                          &folded))
        return NULL;
    Py_buffer data = {0}, starts = {0};
    PyObject *result = NULL;
    u32buf out = {0};
    uint8_t *pairs = NULL;
    if (PyObject_GetBuffer(o_data, &data, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_starts, &starts, "starts") < 0) goto done;
    if (first < 0 || end > data.len || first > end) {
        PyErr_SetString(PyExc_ValueError, "find_needles: region outside the data");
        goto done;
    }
    if (check_needles(needles) < 0 || check_needles(folded) < 0) goto done;
    /* A bit per byte pair that starts some needle as it may appear in the data (every case
     * variant of a folded needle's first two bytes): one lookup rejects most positions. */
    pairs = PyMem_Calloc(65536 / 8, 1);
    if (!pairs) {
        PyErr_NoMemory();
        goto done;
    }
    for (int pass = 0; pass < 2; pass++) {
        PyObject *list = pass ? folded : needles;
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
            const uint8_t *nd = (const uint8_t *)PyBytes_AS_STRING(PyList_GET_ITEM(list, k));
            for (int variant = 0; variant < (pass ? 4 : 1); variant++) {
                uint8_t a = nd[0], b = nd[1];
                if ((variant & 1) && a >= 'a' && a <= 'z') a = (uint8_t)(a - 32);
                if ((variant & 2) && b >= 'a' && b <= 'z') b = (uint8_t)(b - 32);
                unsigned key = ((unsigned)a << 8) | b;
                pairs[key >> 3] |= (uint8_t)(1u << (key & 7));
            }
        }
    }
    const uint8_t *d = (const uint8_t *)data.buf;
    const uint32_t *sv = (const uint32_t *)starts.buf;
    const size_t n_starts = (size_t)starts.len / 4;
    size_t next = 0; /* index of the first string start after the current position */
    Py_ssize_t i = first;
    while (i + 1 < end) {
        unsigned key = ((unsigned)d[i] << 8) | d[i + 1];
        if (!((pairs[key >> 3] >> (key & 7)) & 1) ||
            (!needle_hit(needles, d, i, end, 0) && !needle_hit(folded, d, i, end, 1))) {
            i++;
            continue;
        }
        uint32_t pos = (uint32_t)(i - first);
        if (buf_push(&out, &pos, 1) < 0) goto done;
        while (next < n_starts && sv[next] <= pos) next++;
        Py_ssize_t resume = next < n_starts ? first + (Py_ssize_t)sv[next] : end;
        const uint8_t *nul = memchr(d + i, 0, (size_t)(resume - i));
        i = nul ? (Py_ssize_t)(nul - d) + 1 : resume;
        if (i > resume) i = resume;
    }
    result = buf_to_bytes(&out);
done:
    PyMem_Free(pairs);
    PyMem_Free(out.v);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&data);
    return result;
}

#define MAX_ENCODED_DEPTH 32

/* Skip one encoded_value at *pos (rules of DexFile._read_encoded_value); when ``strings`` is not
 * NULL (top level only), append the index of a VALUE_STRING to it. Returns 1, 0 when malformed,
 * -1 with a Python error set. Nesting (arrays and annotations) is bounded by MAX_ENCODED_DEPTH. */
static int skip_encoded_value(const uint8_t *d, size_t n, size_t *pos, int depth, PyObject *strings);

static int skip_encoded_array(const uint8_t *d, size_t n, size_t *pos, int depth, PyObject *strings) {
    if (depth > MAX_ENCODED_DEPTH) return 0;
    uint32_t count;
    if (!uleb(d, n, pos, &count)) return 0;
    if ((uint64_t)count > n - *pos) return 0; /* every value takes at least one byte */
    for (uint32_t k = 0; k < count; k++) {
        int r = skip_encoded_value(d, n, pos, depth, strings);
        if (r <= 0) return r;
    }
    return 1;
}

static int skip_encoded_value(const uint8_t *d, size_t n, size_t *pos, int depth, PyObject *strings) {
    if (*pos >= n) return 0;
    uint8_t header = d[(*pos)++];
    unsigned kind = header & 0x1F, arg = header >> 5;
    int max_width;
    switch (kind) {
        case 0x00: max_width = 1; break;
        case 0x02: case 0x03: max_width = 2; break;
        case 0x06: case 0x11: max_width = 8; break;
        case 0x04: case 0x10: case 0x15: case 0x16: case 0x17: case 0x18: case 0x19: case 0x1A: case 0x1B:
            max_width = 4; break;
        case 0x1C: return skip_encoded_array(d, n, pos, depth + 1, NULL);
        case 0x1D: {
            uint32_t type_idx, size, name_idx;
            if (depth + 1 > MAX_ENCODED_DEPTH) return 0;
            if (!uleb(d, n, pos, &type_idx) || !uleb(d, n, pos, &size)) return 0;
            if ((uint64_t)size > n - *pos) return 0;
            for (uint32_t k = 0; k < size; k++) {
                if (!uleb(d, n, pos, &name_idx)) return 0;
                int r = skip_encoded_value(d, n, pos, depth + 1, NULL);
                if (r <= 0) return r;
            }
            return 1;
        }
        case 0x1E: case 0x1F: return 1;
        default: return 0;
    }
    unsigned width = arg + 1;
    if ((int)width > max_width || *pos + width > n) return 0;
    if (kind == 0x17 && strings) {
        uint32_t value = 0;
        for (unsigned b = 0; b < width; b++) value |= (uint32_t)d[*pos + b] << (8 * b);
        PyObject *v = PyLong_FromUnsignedLong(value);
        if (!v || PyList_Append(strings, v) < 0) {
            Py_XDECREF(v);
            return -1;
        }
        Py_DECREF(v);
    }
    *pos += width;
    return 1;
}

/* encoded_array_strings(data, offsets) -> [list of string indices | None per offset]: the
 * VALUE_STRING elements at the top level of the encoded_array at each offset (a class's static
 * initial values), or None where the array is malformed (DexFile.read_encoded_array would raise). */
static PyObject *encoded_array_strings(PyObject *self, PyObject *args) {
    PyObject *o_data, *o_offs;
    if (!PyArg_ParseTuple(args, "OO", &o_data, &o_offs)) return NULL;
    Py_buffer data = {0}, offs = {0};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o_data, &data, PyBUF_SIMPLE) < 0) return NULL;
    if (get_u32_array(o_offs, &offs, "offsets") < 0) goto done;
    const uint8_t *d = (const uint8_t *)data.buf;
    const size_t n = (size_t)data.len;
    const uint32_t *ov = (const uint32_t *)offs.buf;
    const size_t count = (size_t)offs.len / 4;
    result = PyList_New((Py_ssize_t)count);
    if (!result) goto done;
    for (size_t i = 0; i < count; i++) {
        PyObject *strings = PyList_New(0);
        if (!strings) {
            Py_CLEAR(result);
            goto done;
        }
        size_t pos = ov[i];
        int ok = pos < n ? skip_encoded_array(d, n, &pos, 0, strings) : 0;
        if (ok < 0) {
            Py_DECREF(strings);
            Py_CLEAR(result);
            goto done;
        }
        if (!ok) {
            Py_DECREF(strings);
            strings = Py_None;
            Py_INCREF(strings);
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, strings);
    }
done:
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"class_data", class_data, METH_VARARGS, "Decode every class_data_item (see dex._class_data_py)."},
    {"scan_code", scan_code, METH_VARARGS, "Scan every code item once (see dex._scan_code_py)."},
    {"ascii_strings", ascii_strings, METH_VARARGS, "Decode plain-ASCII string_data items (see DexFile.string_batch)."},
    {"find_needles", find_needles, METH_VARARGS, "Positions of any of several byte strings, one per string (see DexFile.strings_containing)."},
    {"encoded_array_strings", encoded_array_strings, METH_VARARGS, "Top-level string values of encoded arrays (see DexFile.encoded_array_strings)."},
    {"join_texts", join_texts, METH_VARARGS, "Concatenate str pairs by index (see dex._join_texts)."},
    {"ascii_strings_packed", ascii_strings_packed, METH_VARARGS, "ascii_strings into one buffer (see DexFile.string_pack)."},
    {"ascii_protos_packed", ascii_protos_packed, METH_VARARGS, "ascii_protos into one buffer (see DexFile.proto_pack)."},
    {"unpack_texts", unpack_texts, METH_VARARGS, "Decode texts of a packed buffer (see dex.PackedTexts)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_dexscan", "C accelerator for appwarden.apk.dex", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__dexscan(void) {
    init_widths();
    return PyModule_Create(&module);
}
