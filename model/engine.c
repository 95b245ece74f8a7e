/* The checker's breadth-first search, compiled (model/compiled.py loads it).
 *
 * This file knows the shape of the spec's state (model/state.py) and its
 * actions (model/actions.py), but none of the coordinator's rules: every
 * handler step, every batch record and every verdict on a wave table comes
 * from Python through a callback (the core's own code, as model/actions.py
 * runs it), and is memoised here by small ids. Rows of the wave table and
 * handler runs are interned by Python; the queue, the waiting events, the
 * running jobs and the multiset of runs are interned here. A state is then
 * 24 bytes, and the search only hashes and copies them.
 *
 * The search mirrors model/checker.py's _bfs step for step: the same
 * candidate order, the same ample-set rule, the same checks on each new state
 * and transition, the same probe walks (with its own seeded generator), the
 * same stopping rules; liveness is the same backward reachability.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* action kinds (a label is kind << 16 | a << 8 | b) */
enum { K_INIT, K_TAKE, K_FINISH, K_WCRASH, K_STEP, K_HCRASH, K_LISTEN, K_DUP, K_LOSE, K_FIRE, K_TICK };
static const int IS_FAULT[] = {0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0};

/* how a search ended */
enum { R_COMPLETE = 0, R_DECIDED = 1, R_TIME = 2, R_MEMORY = 3, R_STATES = 4, R_ERROR = -1 };

#define NONE32 0xFFFFFFFFu
#define MAXSEQ 4096
#define MAXOPT 64
#define MAXPROP 8

typedef struct {
    uint32_t rows, queue, events, runs, running;
    uint8_t delayed, crashes, dups, losses;
} st_t;

/* ---------- callbacks into Python (each returns NONE32 on a Python error) ---------- */
/* verdict bits | settled bits << 8 | 1<<30 done | 1<<31 known */
typedef uint32_t (*cb_rows_t)(uint32_t rows);
typedef uint32_t (*cb_record_t)(uint32_t rows, uint32_t wave, uint32_t batch);  /* rows after the record */
typedef uint32_t (*cb_step_t)(uint32_t rows, uint32_t run, uint32_t held, uint32_t *out); /* out[0..3] */
/* effect kind | holds_claim << 8 | a reconciler's run << 16 | 1<<31; writes the run's sort key (its repr)
   to key, its length to *n */
typedef uint32_t (*cb_run_t)(uint32_t run, uint8_t *key, uint32_t cap, uint32_t *n);
typedef uint32_t (*cb_pair_t)(uint32_t before, uint32_t after); /* 1: threshold_respected broken */
typedef uint32_t (*cb_safe_t)(uint32_t crashes, uint32_t dups, uint32_t losses, uint32_t open); /* kind bits */
typedef uint32_t (*cb_progress_t)(uint32_t states);           /* nonzero: stop (an interrupt) */

typedef struct {
    int workers, max_handlers, crash_handlers, reconciler, reconciler_is_work, tagged, lease_held;
    int symmetric, por, probe;
    int settle;                /* a state whose rows settle every open property is not expanded */
    int queue_bound;           /* queue_bounded is broken when the queue is longer */
    int wave_size;
    int effect_read_claimed;   /* the effect kind of ReadClaimedWave */
    /* property bits */
    int p_queue, p_threshold, p_stall, p_completes;
    uint32_t state_bits;       /* the properties judged by cb_rows */
    uint32_t trigger_run[8];   /* the run id of a run started by an event of wave t (0: none) */
    uint32_t reconciler_run;   /* the run id of a run the reconciler starts (on its own slot) */
    double time_limit, max_memory_mb;
    uint64_t max_states;       /* 0: none */
    int probe_walks, probe_steps;
    double probe_share;
    cb_rows_t cb_rows; cb_record_t cb_record; cb_step_t cb_step; cb_run_t cb_run; cb_pair_t cb_pair;
    cb_safe_t cb_safe; cb_progress_t cb_progress;
} config_t;

static config_t C;
static int failed;  /* a callback reported a Python error */

/* ---------- growable arrays ---------- */
typedef struct { void *p; size_t n, cap, size; } vec_t;
static size_t allocated;
static int vec_grow(vec_t *v, size_t need) {
    if (need <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < need) cap *= 2;
    void *p = realloc(v->p, cap * v->size);
    if (!p) return -1;
    allocated += (cap - v->cap) * v->size;
    v->p = p; v->cap = cap;
    return 0;
}
static void vec_free(vec_t *v) { free(v->p); allocated -= v->cap * v->size; v->p = NULL; v->n = v->cap = 0; }

/* ---------- the memory budget (--max-memory is a promise about the peak) ----------
   The search samples its resident memory every SAMPLE_EVERY expansions. Between samples it grows by
   a few states' worth, except when a hash table doubles: the old and the new table are then both
   resident until the old one is freed. So every doubling asks first (afford), and a refusal stops
   the search on memory, not as an error. Vectors grow by realloc; with large blocks mapped on their
   own (ws_reset), realloc remaps rather than copies, and their pages become resident as they fill. */
#define SAMPLE_EVERY 1024
/* between two samples the search may grow by SAMPLE_EVERY expansions' states and by allocations under 1 MB,
   which afford lets through: a sample stops the search this far below the budget, so the peak stays under it */
#define HEADROOM_MB 2.0
static int over_budget;   /* an allocation was refused: it would have taken the process past the budget */
static double rss_mb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f) return (double)allocated / 1048576.0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}
static int afford(size_t bytes) {
    if (C.max_memory_mb <= 0 || bytes < ((size_t)1 << 20)) return 1;   /* no budget, or too small to matter */
    if (rss_mb() + (double)bytes / 1048576.0 <= C.max_memory_mb) return 1;
    over_budget = 1;
    return 0;
}

static uint64_t mix(uint64_t h) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL; h ^= h >> 33;
    return h;
}
static uint64_t hash_bytes(const uint8_t *d, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { uint64_t w; memcpy(&w, d + i, 8); h = mix(h ^ w) + i; }
    uint64_t w = 0;
    memcpy(&w, d + i, n - i);
    return mix(h ^ w ^ (uint64_t)n << 56);
}

/* ---------- a map from uint64 keys to uint32 values ---------- */
typedef struct { uint64_t *keys; uint32_t *vals; size_t cap, n; } map_t;
static int map_init(map_t *m, size_t cap) {
    m->keys = calloc(cap, 8); m->vals = calloc(cap, 4); m->cap = cap; m->n = 0;
    allocated += cap * 12;
    return m->keys && m->vals ? 0 : -1;
}
static void map_free(map_t *m) { free(m->keys); free(m->vals); allocated -= m->cap * 12; m->keys = NULL; m->vals = NULL; }
static uint32_t map_get(const map_t *m, uint64_t key) {   /* keys are stored + 1: 0 is empty */
    size_t i = mix(key) & (m->cap - 1);
    for (;;) {
        if (m->keys[i] == 0) return NONE32;
        if (m->keys[i] == key + 1) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
}
static int map_put(map_t *m, uint64_t key, uint32_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        map_t bigger;
        if (!afford(m->cap * 2 * 12) || map_init(&bigger, m->cap * 2)) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = mix(m->keys[i] - 1) & (bigger.cap - 1);
                while (bigger.keys[j]) j = (j + 1) & (bigger.cap - 1);
                bigger.keys[j] = m->keys[i]; bigger.vals[j] = m->vals[i]; bigger.n++;
            }
        map_free(m); *m = bigger;
    }
    size_t i = mix(key) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key + 1) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = key + 1; m->vals[i] = val;
    return 0;
}

/* ---------- interned byte sequences (queue, events, running jobs, runs) ---------- */
typedef struct { vec_t bytes, start; uint32_t *slots; size_t cap; } seqs_t;
static seqs_t SEQ;   /* one table for all: ids are shared, sequences carry their kind in byte 0 */

static int seqs_init(void) {
    memset(&SEQ, 0, sizeof SEQ);
    SEQ.bytes.size = 1; SEQ.start.size = 8;
    SEQ.cap = 1 << 16;
    SEQ.slots = calloc(SEQ.cap, 4);
    allocated += SEQ.cap * 4;
    if (!SEQ.slots || vec_grow(&SEQ.start, 1)) return -1;
    ((uint64_t *)SEQ.start.p)[0] = 0; SEQ.start.n = 1;
    return 0;
}
/* a sequence's bytes and length; NULL (length 0) for an id never interned. An empty
   sequence gets a real pointer even before any byte is stored (no offset from NULL). */
static const uint8_t NO_BYTES[1];
static const uint8_t *seq_get(uint32_t id, size_t *n) {
    *n = 0;
    if ((size_t)id + 1 >= SEQ.start.n) return NULL;
    uint64_t *st = SEQ.start.p;
    *n = st[id + 1] - st[id];
    return *n ? (uint8_t *)SEQ.bytes.p + st[id] : NO_BYTES;
}
static uint32_t seq_intern(const uint8_t *d, size_t n) {
    uint64_t h = hash_bytes(d, n);
    size_t i = h & (SEQ.cap - 1);
    for (;;) {
        uint32_t s = SEQ.slots[i];
        if (!s) break;
        size_t m; const uint8_t *e = seq_get(s - 1, &m);
        if (m == n && memcmp(e, d, n) == 0) return s - 1;
        i = (i + 1) & (SEQ.cap - 1);
    }
    uint32_t id = (uint32_t)(SEQ.start.n - 1);
    if (vec_grow(&SEQ.bytes, SEQ.bytes.n + n) || vec_grow(&SEQ.start, SEQ.start.n + 1)) return NONE32;
    if (n) memcpy((uint8_t *)SEQ.bytes.p + SEQ.bytes.n, d, n);
    SEQ.bytes.n += n;
    ((uint64_t *)SEQ.start.p)[SEQ.start.n++] = SEQ.bytes.n;
    SEQ.slots[i] = id + 1;
    if ((size_t)(id + 2) * 2 > SEQ.cap) {  /* rehash */
        size_t cap = SEQ.cap * 2;
        uint32_t *slots = afford(cap * 4) ? calloc(cap, 4) : NULL;
        if (!slots) return NONE32;
        allocated += SEQ.cap * 4;
        for (uint32_t k = 0; k <= id; k++) {
            size_t m; const uint8_t *e = seq_get(k, &m);
            size_t j = hash_bytes(e, m) & (cap - 1);
            while (slots[j]) j = (j + 1) & (cap - 1);
            slots[j] = k + 1;
        }
        free(SEQ.slots); SEQ.slots = slots; SEQ.cap = cap;
    }
    return id;
}

/* ---------- the stored states ---------- */
static vec_t states = {0, 0, 0, sizeof(st_t)}, parent = {0, 0, 0, 4}, label = {0, 0, 0, 4}, depth = {0, 0, 0, 2};
static vec_t edge_start = {0, 0, 0, 8}, edges = {0, 0, 0, 4}, goal = {0, 0, 0, 1};
static uint32_t *table; static size_t table_cap;
static map_t records, steps, pairs;
static vec_t step_out = {0, 0, 0, 16};   /* outcome of a step: rows, run (NONE32: ended), push wave, effect kind */
static vec_t rows_info = {0, 0, 0, 4}, run_info = {0, 0, 0, 4};
/* each run's sort key (the Python engine sorts runs by their repr): offset and length in key_bytes */
static vec_t key_at = {0, 0, 0, 8}, key_len = {0, 0, 0, 4}, key_bytes = {0, 0, 0, 1};
#define MAXKEY 65536
static uint32_t safe_memo[4][4][4][1 << MAXPROP];
static uint8_t safe_known[4][4][4][1 << MAXPROP];

static uint64_t hash_state(const st_t *s) { return hash_bytes((const uint8_t *)s, sizeof *s); }

static int table_rehash(void) {
    size_t cap = table_cap ? table_cap * 2 : 1 << 20;
    uint32_t *t = afford(cap * 4) ? calloc(cap, 4) : NULL;
    if (!t) return -1;
    allocated += (cap - table_cap) * 4;
    st_t *all = states.p;
    for (size_t k = 0; k < states.n; k++) {
        size_t j = hash_state(&all[k]) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)k + 1;
    }
    free(table); table = t; table_cap = cap;
    return 0;
}

/* the id of s, adding it when new (*fresh set); NONE32 when out of memory */
static uint32_t state_id(const st_t *s, int *fresh) {
    if ((states.n + 1) * 2 > table_cap && table_rehash()) return NONE32;
    size_t j = hash_state(s) & (table_cap - 1);
    st_t *all = states.p;
    while (table[j]) {
        if (memcmp(&all[table[j] - 1], s, sizeof *s) == 0) { *fresh = 0; return table[j] - 1; }
        j = (j + 1) & (table_cap - 1);
    }
    size_t n = states.n;
    if (vec_grow(&states, n + 1) || vec_grow(&parent, n + 1) || vec_grow(&label, n + 1) || vec_grow(&depth, n + 1))
        return NONE32;
    ((st_t *)states.p)[n] = *s;
    states.n = parent.n = label.n = depth.n = n + 1;
    table[j] = (uint32_t)n + 1;
    *fresh = 1;
    return (uint32_t)n;
}

/* ---------- what Python knows, memoised ---------- */
static uint32_t rows_of(uint32_t rows) {
    if (rows >= rows_info.n || !(((uint32_t *)rows_info.p)[rows] >> 31)) {
        uint32_t info = C.cb_rows(rows);
        if (info == NONE32) { failed = 1; return 0; }
        if (rows >= rows_info.n) {
            size_t old = rows_info.n;
            if (vec_grow(&rows_info, rows + 1)) { failed = 1; return 0; }
            memset((uint32_t *)rows_info.p + old, 0, (rows + 1 - old) * 4);
            rows_info.n = rows + 1;
        }
        ((uint32_t *)rows_info.p)[rows] = info;
    }
    return ((uint32_t *)rows_info.p)[rows];
}
static uint32_t run_of(uint32_t run) {
    if (run >= run_info.n || !(((uint32_t *)run_info.p)[run] >> 31)) {
        static uint8_t key[MAXKEY];
        uint32_t n = 0;
        uint32_t info = C.cb_run(run, key, MAXKEY, &n);
        if (info == NONE32 || n > MAXKEY) { failed = 1; return 0; }
        if (run >= run_info.n) {
            size_t old = run_info.n;
            if (vec_grow(&run_info, run + 1) || vec_grow(&key_at, run + 1) || vec_grow(&key_len, run + 1)) {
                failed = 1; return 0;
            }
            memset((uint32_t *)run_info.p + old, 0, (run + 1 - old) * 4);
            run_info.n = key_at.n = key_len.n = run + 1;
        }
        if (vec_grow(&key_bytes, key_bytes.n + n)) { failed = 1; return 0; }
        memcpy((uint8_t *)key_bytes.p + key_bytes.n, key, n);
        ((uint64_t *)key_at.p)[run] = key_bytes.n; ((uint32_t *)key_len.p)[run] = n;
        key_bytes.n += n;
        ((uint32_t *)run_info.p)[run] = info;
    }
    return ((uint32_t *)run_info.p)[run];
}
static uint32_t record(uint32_t rows, int wave, int batch) {
    uint64_t key = (uint64_t)rows << 8 | (uint64_t)(wave << 4 | batch);
    uint32_t got = map_get(&records, key);
    if (got == NONE32) {
        got = C.cb_record(rows, wave, batch);
        if (got == NONE32 || map_put(&records, key, got)) { failed = 1; return 0; }
    }
    return got;
}
static const uint32_t *step(uint32_t rows, uint32_t run, uint32_t held) {
    uint64_t key = (uint64_t)run << 40 | (uint64_t)held << 32 | rows;
    uint32_t at = map_get(&steps, key);
    if (at == NONE32) {
        uint32_t out[4];
        if (C.cb_step(rows, run, held, out) == NONE32) { failed = 1; return NULL; }
        at = (uint32_t)step_out.n;
        if (vec_grow(&step_out, step_out.n + 1) || map_put(&steps, key, at)) { failed = 1; return NULL; }
        memcpy((uint32_t *)step_out.p + 4 * (size_t)at, out, 16);
        step_out.n++;
    }
    return (uint32_t *)step_out.p + 4 * (size_t)at;
}
static int pair_broken(uint32_t before, uint32_t after) {
    uint64_t key = (uint64_t)before << 32 | after;
    uint32_t got = map_get(&pairs, key);
    if (got == NONE32) {
        got = C.cb_pair(before, after);
        if (got == NONE32 || map_put(&pairs, key, got)) { failed = 1; return 0; }
    }
    return (int)got;
}
static uint32_t safe_kinds(const st_t *s, uint32_t open) {
    int c = s->crashes > 3 ? 3 : s->crashes, d = s->dups > 3 ? 3 : s->dups, l = s->losses > 3 ? 3 : s->losses;
    if (!safe_known[c][d][l][open]) {
        uint32_t got = C.cb_safe(c, d, l, open);
        if (got == NONE32) { failed = 1; return 0; }
        safe_memo[c][d][l][open] = got; safe_known[c][d][l][open] = 1;
    }
    return safe_memo[c][d][l][open];
}

/* ---------- successors ---------- */
typedef struct { uint32_t label; st_t next; int kind_bit; } opt_t;
typedef struct { uint8_t q[MAXSEQ], e[MAXSEQ], w[16]; uint32_t r[16]; size_t nq, ne, nw, nr; } parts_t;

static void unpack(const st_t *s, parts_t *p) {
    const uint8_t *d;
    d = seq_get(s->queue, &p->nq); memcpy(p->q, d, p->nq);
    d = seq_get(s->events, &p->ne); memcpy(p->e, d, p->ne);
    d = seq_get(s->running, &p->nw); memcpy(p->w, d, p->nw);
    size_t n; d = seq_get(s->runs, &n); memcpy(p->r, d, n); p->nr = n / 4;
}
/* runs in the Python engine's order: by their repr, as Python compares strings (the keys are ASCII) */
static int cmp_run(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (x == y) return 0;
    uint32_t nx = ((uint32_t *)key_len.p)[x], ny = ((uint32_t *)key_len.p)[y];
    const uint8_t *kx = (uint8_t *)key_bytes.p + ((uint64_t *)key_at.p)[x];
    const uint8_t *ky = (uint8_t *)key_bytes.p + ((uint64_t *)key_at.p)[y];
    int c = memcmp(kx, ky, nx < ny ? nx : ny);
    return c ? c : nx < ny ? -1 : nx > ny;
}
/* build a state from parts (runs sorted when symmetric); 0 on success */
static int pack(st_t *s, const uint8_t *q, size_t nq, const uint8_t *e, size_t ne, const uint8_t *w, size_t nw,
                const uint32_t *r, size_t nr) {
    uint32_t sorted[16];
    memcpy(sorted, r, nr * 4);
    if (C.symmetric && nr > 1) {
        for (size_t k = 0; k < nr; k++) { run_of(sorted[k]); if (failed) return -1; }  /* their keys */
        qsort(sorted, nr, 4, cmp_run);
    }
    if (nq > MAXSEQ || ne > MAXSEQ) { failed = 2; return -1; }
    s->queue = seq_intern(q, nq); s->events = seq_intern(e, ne); s->running = seq_intern(w, nw);
    s->runs = seq_intern((const uint8_t *)sorted, nr * 4);
    if (s->queue == NONE32 || s->events == NONE32 || s->running == NONE32 || s->runs == NONE32) { failed = 1; return -1; }
    return 0;
}

static uint8_t buf_q[MAXSEQ + 64], buf_e[MAXSEQ + 64], buf_w[16];
static uint32_t buf_r[16];

/* every enabled action from s, canonical, in model/actions.py's candidate order; the count */
static int successors(const st_t *s, opt_t *out) {
    parts_t p;
    unpack(s, &p);
    int n = 0;
    /* worker_take (FIFO: the front job) */
    if (p.nq && (int)p.nw < C.workers) {
        opt_t *o = &out[n++];
        o->next = *s; o->label = K_TAKE << 16; o->kind_bit = K_TAKE;
        uint8_t job = p.q[0];
        size_t k = 0, nw = 0;
        for (; k < p.nw && p.w[k] <= job; k++) buf_w[nw++] = p.w[k];
        buf_w[nw++] = job;
        for (; k < p.nw; k++) buf_w[nw++] = p.w[k];
        if (pack(&o->next, p.q + 1, p.nq - 1, p.e, p.ne, buf_w, nw, p.r, p.nr)) return -1;
    }
    /* batch_finish and worker_crash, once per distinct running job */
    for (size_t k = 0; k < p.nw; k++) {
        if (k && p.w[k - 1] == p.w[k]) continue;
        int wave = p.w[k] >> 3, batch = p.w[k] & 7;
        size_t nw = 0;
        for (size_t j = 0; j < p.nw; j++) if (j != k) buf_w[nw++] = p.w[j];
        uint32_t rows = record(s->rows, wave, batch);
        if (failed) return -1;
        opt_t *o = &out[n++];
        o->next = *s; o->next.rows = rows; o->label = K_FINISH << 16 | wave << 8 | batch; o->kind_bit = K_FINISH;
        memcpy(buf_e, p.e, p.ne); buf_e[p.ne] = C.tagged ? (uint8_t)wave : 0;
        if (pack(&o->next, p.q, p.nq, buf_e, p.ne + 1, buf_w, nw, p.r, p.nr)) return -1;
        if (s->crashes) {
            o = &out[n++];
            o->next = *s; o->next.rows = rows; o->next.crashes--; o->label = K_WCRASH << 16 | wave << 8 | batch;
            o->kind_bit = K_WCRASH;
            memcpy(buf_q, p.q, p.nq); buf_q[p.nq] = p.w[k];
            if (pack(&o->next, buf_q, p.nq + 1, p.e, p.ne, buf_w, nw, p.r, p.nr)) return -1;
        }
    }
    /* handler_step and handler_crash, once per distinct run */
    for (size_t i = 0; i < p.nr; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++) if (p.r[j] == p.r[i]) seen = 1;
        if (seen) continue;
        uint32_t info = run_of(p.r[i]);
        if (failed) return -1;
        uint32_t held = 0;
        if (C.lease_held && (int)(info & 0xFF) == C.effect_read_claimed)
            for (size_t j = 0; j < p.nr; j++) {
                if (j == i) continue;
                uint32_t other = run_of(p.r[j]);
                if (failed) return -1;
                uint32_t wave = other >> 8 & 0xFF;
                if (wave) held |= 1u << wave;
            }
        const uint32_t *res = step(s->rows, p.r[i], held);
        if (!res) return -1;
        opt_t *o = &out[n++];
        o->next = *s; o->next.rows = res[0]; o->label = K_STEP << 16 | (uint32_t)i << 8;
        o->kind_bit = 16 + (int)(info & 0xFF);
        size_t nq = p.nq;
        memcpy(buf_q, p.q, p.nq);
        if (res[2]) for (int b = 0; b < C.wave_size; b++) buf_q[nq++] = (uint8_t)(res[2] << 3 | b);
        if (res[3]) o->next.delayed++;
        size_t nr = 0;
        for (size_t j = 0; j < p.nr; j++) {
            if (j != i) buf_r[nr++] = p.r[j];
            else if (res[1] != NONE32) buf_r[nr++] = res[1];
        }
        if (pack(&o->next, buf_q, nq, p.e, p.ne, p.w, p.nw, buf_r, nr)) return -1;
        if (s->crashes && C.crash_handlers) {
            o = &out[n++];
            o->next = *s; o->next.crashes--; o->label = K_HCRASH << 16 | (uint32_t)i << 8; o->kind_bit = K_HCRASH;
            nr = 0;
            for (size_t j = 0; j < p.nr; j++) if (j != i) buf_r[nr++] = p.r[j];
            if (pack(&o->next, p.q, p.nq, p.e, p.ne, p.w, p.nw, buf_r, nr)) return -1;
        }
    }
    /* the listeners' slots hold every run but the reconciler's, which has its own slot */
    int listeners = (int)p.nr, reconciling = 0;
    for (size_t i = 0; i < p.nr; i++)
        if (run_of(p.r[i]) >> 16 & 1) { listeners--; reconciling = 1; }
    if (failed) return -1;
    if (p.ne) {
        if (listeners < C.max_handlers) {
            opt_t *o = &out[n++];
            o->next = *s; o->label = K_LISTEN << 16; o->kind_bit = K_LISTEN;
            memcpy(buf_r, p.r, p.nr * 4); buf_r[p.nr] = C.trigger_run[p.e[0]];
            if (pack(&o->next, p.q, p.nq, p.e + 1, p.ne - 1, p.w, p.nw, buf_r, p.nr + 1)) return -1;
        }
        if (s->dups) {
            opt_t *o = &out[n++];
            o->next = *s; o->next.dups--; o->label = K_DUP << 16; o->kind_bit = K_DUP;
            buf_e[0] = p.e[0]; memcpy(buf_e + 1, p.e, p.ne);
            if (pack(&o->next, p.q, p.nq, buf_e, p.ne + 1, p.w, p.nw, p.r, p.nr)) return -1;
        }
        if (s->losses) {
            opt_t *o = &out[n++];
            o->next = *s; o->next.losses--; o->label = K_LOSE << 16; o->kind_bit = K_LOSE;
            if (pack(&o->next, p.q, p.nq, p.e + 1, p.ne - 1, p.w, p.nw, p.r, p.nr)) return -1;
        }
    }
    if (s->delayed) {
        opt_t *o = &out[n++];
        o->next = *s; o->next.delayed--; o->label = K_FIRE << 16; o->kind_bit = K_FIRE;
        memcpy(buf_e, p.e, p.ne); buf_e[p.ne] = 0;
        if (pack(&o->next, p.q, p.nq, buf_e, p.ne + 1, p.w, p.nw, p.r, p.nr)) return -1;
    }
    if (C.reconciler && !reconciling) {
        opt_t *o = &out[n++];
        o->next = *s; o->label = K_TICK << 16; o->kind_bit = K_TICK;
        memcpy(buf_r, p.r, p.nr * 4); buf_r[p.nr] = C.reconciler_run;
        if (pack(&o->next, p.q, p.nq, p.e, p.ne, p.w, p.nw, buf_r, p.nr + 1)) return -1;
    }
    return n;
}

/* who takes an action (model/reduction.py's actor): equal values, same actor */
static uint32_t actor_of(uint32_t lab) {
    int kind = lab >> 16;
    if (kind == K_WCRASH) return K_FINISH << 16 | (lab & 0xFFFF);
    if (kind == K_FINISH || kind == K_STEP) return lab;
    if (kind == K_LOSE) return K_DUP << 16;
    return (uint32_t)kind << 16;
}

/* model/reduction.py's ample(): one safe action whose actor has no other enabled action */
static int ample(opt_t *o, int n, uint32_t safe) {
    if (n < 2 || !safe) return n;
    for (int k = 0; k < n; k++) {
        if (!(safe >> o[k].kind_bit & 1)) continue;
        uint32_t who = actor_of(o[k].label);
        int same = 0;
        for (int j = 0; j < n; j++) same += actor_of(o[j].label) == who;
        if (same == 1) { if (k) o[0] = o[k]; return 1; }
    }
    return n;
}

/* ---------- the search ---------- */
static uint32_t open_, found_state[MAXPROP], found_label[MAXPROP];
static st_t found_after[MAXPROP];
static int found_kind[MAXPROP];  /* 0 none, 1 at a state, 2 on a transition, 3 by a walk */
static vec_t walk_states[MAXPROP], walk_labels[MAXPROP];
static uint64_t transitions, expanded, walked_steps, rng_state, settled_n;
static uint32_t max_depth;
static int complete_, budget_reason;

static void decide(int prop, uint32_t sid, int kind, uint32_t lab, const st_t *after) {
    if (!(open_ >> prop & 1)) return;
    open_ &= ~(1u << prop);
    found_state[prop] = sid; found_kind[prop] = kind; found_label[prop] = lab;
    if (after) found_after[prop] = *after;
}
static int quiescent(const st_t *s) {
    size_t n;
    seq_get(s->queue, &n); if (n) return 0;
    seq_get(s->events, &n); if (n) return 0;
    seq_get(s->running, &n); if (n) return 0;
    seq_get(s->runs, &n); if (n) return 0;
    return !s->delayed;
}
static int stalled(const st_t *s) {   /* model/invariants.py's stall_detail is not None */
    if (C.reconciler_is_work || !quiescent(s)) return 0;
    uint32_t info = rows_of(s->rows);
    return !(info >> 30 & 1);
}
static void judge(uint32_t sid, const st_t *s) {
    uint32_t info = rows_of(s->rows);
    if (failed) return;
    uint32_t bad = info & C.state_bits;
    for (int p = 0; p < MAXPROP; p++) if (bad >> p & 1) decide(p, sid, 1, 0, NULL);
    size_t nq; seq_get(s->queue, &nq);
    if (C.p_queue >= 0 && (int)nq > C.queue_bound) decide(C.p_queue, sid, 1, 0, NULL);
    if ((open_ >> C.p_stall & 1) || (open_ >> C.p_completes & 1)) {
        if (stalled(s)) {
            decide(C.p_stall, sid, 1, 0, NULL);
            if (!C.reconciler) decide(C.p_completes, sid, 1, 0, NULL);  /* no step out at all */
        }
    }
}

static uint64_t rng(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL; z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static opt_t opts[MAXOPT], walk_opts[MAXOPT];

static int keep_walk(int prop, const st_t *ws, const uint32_t *wl, size_t n) {
    vec_t *vs = &walk_states[prop], *vl = &walk_labels[prop];
    vs->size = sizeof(st_t); vl->size = 4;
    if (vec_grow(vs, n) || vec_grow(vl, n)) return -1;
    memcpy(vs->p, ws, n * sizeof(st_t)); memcpy(vl->p, wl, n * 4);
    vs->n = vl->n = n;
    found_kind[prop] = 3;
    open_ &= ~(1u << prop);
    return 0;
}

/* model/checker.py's probe(): random walks over every enabled step, loops cut */
static int probe(const st_t *first) {
    size_t cap = (size_t)C.probe_steps + 1;
    st_t *ws = malloc(cap * sizeof(st_t));
    uint32_t *wl = malloc(cap * 4);
    if (!ws || !wl) { free(ws); free(wl); return -1; }
    uint32_t live = 1u << C.p_stall | 1u << C.p_completes;
    for (int w = 0; w < C.probe_walks; w++) {
        size_t n = 1;
        ws[0] = *first; wl[0] = K_INIT << 16;
        for (int k = 0; k < C.probe_steps; k++) {
            const st_t *at = &ws[n - 1];
            if ((open_ >> C.p_stall & 1) && stalled(at) && keep_walk(C.p_stall, ws, wl, n)) goto fail;
            int m = successors(at, walk_opts);
            if (m < 0) goto fail;
            int kept = 0, plain = 0;
            for (int j = 0; j < m; j++) {
                int fault = IS_FAULT[walk_opts[j].label >> 16];
                if (!fault || (rng() >> 11) * (1.0 / 9007199254740992.0) < 0.5) walk_opts[kept++] = walk_opts[j];
                plain += !fault;
            }
            /* a plain step is never dropped, so plain counts the kept ones too */
            if (!plain) {
                if ((open_ >> C.p_completes & 1) && !(rows_of(at->rows) >> 30 & 1)
                    && keep_walk(C.p_completes, ws, wl, n)) goto fail;
                if (!kept) break;
            }
            opt_t *pick = &walk_opts[rng() % (uint64_t)kept];
            size_t loop = n;
            for (size_t j = 0; j < n; j++) if (memcmp(&ws[j], &pick->next, sizeof(st_t)) == 0) { loop = j; break; }
            if (loop < n) { n = loop + 1; continue; }
            ws[n] = pick->next; wl[n] = pick->label; n++;
            walked_steps++;
        }
        if (!(open_ & live)) break;
    }
    free(ws); free(wl);
    return 0;
fail:
    free(ws); free(wl);
    return -1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static double peak_mb;

static void release(void) {
    vec_free(&states); vec_free(&parent); vec_free(&label); vec_free(&depth);
    vec_free(&edge_start); vec_free(&edges); vec_free(&goal); vec_free(&step_out); vec_free(&rows_info);
    vec_free(&run_info); vec_free(&key_at); vec_free(&key_len); vec_free(&key_bytes);
    for (int p = 0; p < MAXPROP; p++) { vec_free(&walk_states[p]); vec_free(&walk_labels[p]); }
    free(table); table = NULL; allocated -= table_cap * 4; table_cap = 0;
    map_free(&records); map_free(&steps); map_free(&pairs);
    vec_free(&SEQ.bytes); vec_free(&SEQ.start); free(SEQ.slots); SEQ.slots = NULL;
    allocated = 0;
}

/* the exported API */

int ws_reset(const config_t *config) {
    release();
    C = *config;
    failed = 0; over_budget = 0;
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 1 << 20);   /* a fixed threshold: a large vector's realloc remaps, never copies */
#endif
    memset(safe_known, 0, sizeof safe_known);
    memset(found_kind, 0, sizeof found_kind);
    transitions = expanded = walked_steps = settled_n = 0; max_depth = 0; complete_ = 0; budget_reason = 0;
    rng_state = 0;
    if (seqs_init() || map_init(&records, 1 << 12) || map_init(&steps, 1 << 12) || map_init(&pairs, 1 << 12))
        return -1;
    return 0;
}

uint32_t ws_intern(const uint8_t *data, uint32_t n) { return seq_intern(data, n); }

/* copies sequence id into out when it fits in cap bytes; returns its length, NONE32 for an unknown id */
uint32_t ws_sequence(uint32_t id, uint8_t *out, uint32_t cap) {
    size_t n; const uint8_t *d = seq_get(id, &n);
    if (!d) return NONE32;
    if (n && n <= cap) memcpy(out, d, n);   /* out may be NULL when asking for the length only */
    return (uint32_t)n;
}

/* the search from *first; returns R_* */
int ws_search(const st_t *first, uint32_t open, uint32_t *error) {
    double started = now();
    open_ = open;
    int fresh;
    peak_mb = rss_mb();
    if (state_id(first, &fresh) == NONE32) return over_budget ? R_MEMORY : R_ERROR;
    ((uint32_t *)parent.p)[0] = NONE32; ((uint32_t *)label.p)[0] = K_INIT << 16; ((uint16_t *)depth.p)[0] = 0;
    judge(0, first);
    uint32_t live = 1u << C.p_stall | 1u << C.p_completes;
    int result = -10;
    size_t next = 0;
    while (next < states.n && open_) {
        expanded++;
        if (C.probe && (double)walked_steps <= (double)expanded * C.probe_share && (open_ & live)) {
            if (probe(first)) break;
            if (failed) break;
            if (!open_) break;
        }
        if ((expanded & 4095) == 1) {
            if (C.cb_progress && C.cb_progress((uint32_t)states.n)) { failed = 3; break; }
            if (now() - started > C.time_limit) { result = R_TIME; break; }
        }
        if (expanded % SAMPLE_EVERY == 1) {
            double mb = rss_mb();
            if (mb > peak_mb) peak_mb = mb;
            /* judging import_completes after a complete search takes one byte per state (ws_first_trap) */
            double reserve = (open_ >> C.p_completes & 1) ? (double)states.n / 1048576.0 : 0.0;
            if (peak_mb + reserve + HEADROOM_MB > C.max_memory_mb) { result = R_MEMORY; break; }
        }
        if (C.max_states && states.n >= C.max_states) { result = R_STATES; break; }
        uint32_t sid = (uint32_t)next++;
        st_t s = ((st_t *)states.p)[sid];
        uint32_t info = rows_of(s.rows);
        if (failed) break;
        int done = info >> 30 & 1;
        if (C.settle && !(open_ & ~(info >> 8 & 0xFF))) { settled_n++; continue; }
        int m = successors(&s, opts);
        if (m < 0) break;
        if (C.por && m > 1) {
            uint32_t safe = safe_kinds(&s, open_);
            if (failed) break;
            m = ample(opts, m, safe);
        }
        int liveness = open_ >> C.p_completes & 1;
        if (liveness) {
            if (vec_grow(&edge_start, sid + 2) || vec_grow(&goal, sid + 1)) { failed = 1; break; }
            ((uint64_t *)edge_start.p)[sid] = edges.n;
            ((uint8_t *)goal.p)[sid] = (uint8_t)done;
            edge_start.n = sid + 1; goal.n = sid + 1;
        }
        int way_out = 0;
        uint16_t d = ((uint16_t *)depth.p)[sid];
        for (int k = 0; k < m; k++) {
            transitions++;
            const st_t *nx = &opts[k].next;
            if (nx->rows != s.rows && C.p_threshold >= 0 && (open_ >> C.p_threshold & 1)) {
                if (pair_broken(s.rows, nx->rows)) decide(C.p_threshold, sid, 2, opts[k].label, nx);
                if (failed) break;
            }
            uint32_t nid = state_id(nx, &fresh);
            if (nid == NONE32) { failed = 1; break; }
            if (fresh) {
                ((uint32_t *)parent.p)[nid] = sid; ((uint32_t *)label.p)[nid] = opts[k].label;
                ((uint16_t *)depth.p)[nid] = (uint16_t)(d + 1);
                if (d + 1u > max_depth) max_depth = d + 1u;
                judge(nid, nx);
                if (failed) break;
            }
            if (!IS_FAULT[opts[k].label >> 16]) {
                way_out = 1;
                if (liveness) {
                    if (vec_grow(&edges, edges.n + 1)) { failed = 1; break; }
                    ((uint32_t *)edges.p)[edges.n++] = nid;
                }
            }
        }
        if (failed) break;
        if (liveness) ((uint64_t *)edge_start.p)[sid + 1] = edges.n;
        if (!way_out && !done) decide(C.p_completes, sid, 1, 0, NULL);
    }
    double mb = rss_mb();
    if (mb > peak_mb) peak_mb = mb;
    if (failed == 1 && over_budget) { failed = 0; result = R_MEMORY; }  /* a doubling the budget refused */
    if (failed) { *error = (uint32_t)failed; return R_ERROR; }
    if (result == -10) result = next >= states.n ? R_COMPLETE : R_DECIDED;
    complete_ = result == R_COMPLETE;
    if (!complete_) max_depth = next < states.n ? ((uint16_t *)depth.p)[next] : max_depth;
    return result;
}

/* after a complete search with import_completes open: the first state (BFS order) from which
   no fault-free path reaches a goal, or NONE32 */
uint32_t ws_first_trap(void) {
    size_t n = states.n;
    if (edge_start.n < n || goal.n < n) return NONE32;  /* edges were not recorded for every state */
    uint8_t *mark = calloc(n, 1);
    if (!mark) return NONE32 - 1;
    const uint64_t *start = edge_start.p;
    const uint32_t *to = edges.p;
    memcpy(mark, goal.p, n);
    for (int changed = 1; changed;) {   /* passes in reverse discovery order, to a fixpoint */
        changed = 0;
        for (size_t i = n; i-- > 0;) {
            if (mark[i]) continue;
            for (uint64_t k = start[i]; k < start[i + 1]; k++)
                if (mark[to[k]]) { mark[i] = 1; changed = 1; break; }
        }
    }
    uint32_t trap = NONE32;
    for (size_t i = 0; i < n; i++) if (!mark[i]) { trap = (uint32_t)i; break; }
    free(mark);
    return trap;
}

/* what the search found and covered */
uint64_t ws_count(int what) {
    switch (what) {
    case 0: return states.n;
    case 1: return transitions;
    case 2: return max_depth;
    case 3: return (uint64_t)(peak_mb * 1024.0);
    case 4: return expanded;
    case 5: return settled_n;
    default: return 0;
    }
}
void ws_state(uint32_t sid, st_t *out, uint32_t *parent_out, uint32_t *label_out) {
    *out = ((st_t *)states.p)[sid];
    *parent_out = ((uint32_t *)parent.p)[sid];
    *label_out = ((uint32_t *)label.p)[sid];
}
/* kind (0 none, 1 state, 2 transition, 3 walk), its state id, label, the state after (transition) */
int ws_found(int prop, uint32_t *sid, uint32_t *lab, st_t *after, uint32_t *walk_len) {
    *sid = found_state[prop]; *lab = found_label[prop]; *after = found_after[prop];
    *walk_len = (uint32_t)walk_states[prop].n;
    return found_kind[prop];
}
void ws_walk(int prop, uint32_t k, st_t *out, uint32_t *lab) {
    *out = ((st_t *)walk_states[prop].p)[k];
    *lab = ((uint32_t *)walk_labels[prop].p)[k];
}
size_t ws_state_size(void) { return sizeof(st_t); }
size_t ws_config_size(void) { return sizeof(config_t); }
void ws_release(void) { release(); }
