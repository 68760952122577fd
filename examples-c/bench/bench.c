/*
 * bench.c - codomyrmex_keys side by side with OpenSSL 3 and libsodium.
 *
 * Every number comes from one process: the library is called through its
 * real C interface (the shared library, as a C program links it), OpenSSL
 * through libcrypto and libsodium through its public API. For each workload
 * the implementations take turns (the order rotates every repetition), each
 * repetition times one sample of many calls per implementation, and the
 * report gives the median per call over the repetitions, the ratio
 * ours/peer of every repetition and the median of those ratios (< 1 means
 * codomyrmex_keys is faster).
 *
 * Before anything is timed, every implementation of every workload is run
 * once and its bytes compared with the others: a mismatch stops the program.
 *
 * Key-store operations are compared with a "floor": the bare system calls
 * the same operation needs, issued directly from C and timed the same way.
 *
 * Usage: bench [--dir DIR] [--csv FILE] [--reps N] [--time-ms MS]
 *              [--filter TEXT]
 *
 *   --dir      working directory for the key-store rows (default
 *              ./bench-keys); put it on the disk you want to measure, not
 *              on tmpfs. It must be new or a directory this program made
 *              (it holds a .codomyrmex-bench marker); only the program's own
 *              subdirectories in it are ever removed.
 *   --csv      machine-readable results (default ./bench-results.csv)
 *   --reps     repetitions per workload (default 7, at least 5)
 *   --time-ms  target duration of one sample of the cryptographic rows
 *              (default 40; the durable-write rows use 10x that)
 *   --filter   only the workloads whose name contains TEXT
 *   --run-only K N
 *              time nothing: run implementation K (0 = codomyrmex_keys,
 *              1 = the first peer or floor, ...) of the selected workloads
 *              N times, for counting system calls, e.g.
 *              strace -c -f bench --filter get --run-only 0 1000
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "codomyrmex_keys.h"

/* The getdents64 buffer of codomyrmex_key_manager_list (src/store/sys.rs,
 * LISTING_BUF_BYTES): the listing floor reads with the same size. */
#define LIST_BUF_BYTES (64 * 1024)

#define MAX_IMPLS 6
#define MAX_REPS 64
#define MAX_RESULTS 128

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static volatile uint8_t g_sink;

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void die_errno(const char *what)
{
    die("%s: %s", what, strerror(errno));
}

/* Stops on a failed library call, with its status and message. */
static void ours(codomyrmex_status st, const char *what)
{
    char why[512];

    if (st == CODOMYRMEX_OK) {
        return;
    }
    codomyrmex_last_error_message(why, sizeof why);
    die("%s failed: %s: %s", what, codomyrmex_status_name((uint32_t)st), why);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(const double *values, int n)
{
    double sorted[MAX_REPS];

    memcpy(sorted, values, (size_t)n * sizeof *values);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    size_t i;

    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

static void expect_same(const char *what, const char *impl, const uint8_t *want,
                        const uint8_t *got, size_t len)
{
    if (memcmp(want, got, len) != 0) {
        die("check failed: %s: %s gives other bytes than codomyrmex_keys", what, impl);
    }
}

/* Times formatted for the table: ns, us or ms. */
static void fmt_time(char *out, size_t cap, double seconds)
{
    if (seconds < 1e-6) {
        snprintf(out, cap, "%.1f ns", seconds * 1e9);
    } else if (seconds < 1e-3) {
        snprintf(out, cap, "%.2f us", seconds * 1e6);
    } else {
        snprintf(out, cap, "%.3f ms", seconds * 1e3);
    }
}

static const char *size_name(size_t bytes, char *buf, size_t cap)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
        snprintf(buf, cap, "%zu MiB", bytes / (1024 * 1024));
    } else if (bytes >= 1024 && bytes % 1024 == 0) {
        snprintf(buf, cap, "%zu KiB", bytes / 1024);
    } else {
        snprintf(buf, cap, "%zu B", bytes);
    }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* The machine                                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
    char cpu[128];
    char kernel[4 * 65 + 8];
    char fs[PATH_MAX + 512];
    bool sha_cpuid, avx2_cpuid, bmi2_cpuid;
    bool sha_proc, avx2_proc, bmi2_proc;
} machine_t;

static bool has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    const char *p = flags;

    while ((p = strstr(p, flag)) != NULL) {
        bool start = p == flags || isspace((unsigned char)p[-1]);
        bool end = p[n] == '\0' || isspace((unsigned char)p[n]);
        if (start && end) {
            return true;
        }
        p += n;
    }
    return false;
}

/* The file system holding `dir`: the longest mount point in
 * /proc/self/mountinfo that is a prefix of its real path. */
static void file_system_of(const char *dir, char *out, size_t cap)
{
    char real[PATH_MAX], line[4096], best_point[PATH_MAX] = "";
    FILE *f;
    size_t best = 0;

    snprintf(out, cap, "unknown");
    if (realpath(dir, real) == NULL || (f = fopen("/proc/self/mountinfo", "r")) == NULL) {
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char point[PATH_MAX], fstype[64], source[256];
        const char *dash = strstr(line, " - ");
        size_t n;

        if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
            sscanf(dash + 3, "%63s %255s", fstype, source) != 2) {
            continue;
        }
        n = strlen(point);
        if (strncmp(real, point, n) == 0 &&
            (real[n] == '/' || real[n] == '\0' || strcmp(point, "/") == 0) && n >= best) {
            best = n;
            snprintf(best_point, sizeof best_point, "%s", point);
            snprintf(out, cap, "%s on %s (mounted at %s)", fstype, source, best_point);
        }
    }
    fclose(f);
}

static void probe_machine(machine_t *m, const char *dir)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    struct utsname u;
    char line[8192];

    memset(m, 0, sizeof *m);
    snprintf(m->cpu, sizeof m->cpu, "unknown");
    if (f != NULL) {
        bool have_model = false, have_flags = false;
        while (fgets(line, sizeof line, f) != NULL && !(have_model && have_flags)) {
            char *colon = strchr(line, ':');
            if (colon == NULL) {
                continue;
            }
            line[strcspn(line, "\n")] = '\0';
            if (!have_model && strncmp(line, "model name", 10) == 0) {
                snprintf(m->cpu, sizeof m->cpu, "%s", colon + 2);
                have_model = true;
            } else if (!have_flags && strncmp(line, "flags", 5) == 0) {
                m->sha_proc = has_flag(colon + 1, "sha_ni");
                m->avx2_proc = has_flag(colon + 1, "avx2");
                m->bmi2_proc = has_flag(colon + 1, "bmi2");
                have_flags = true;
            }
        }
        fclose(f);
    }
#if defined(__x86_64__) || defined(__i386__)
    {
        unsigned a, b, c, d;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            m->sha_cpuid = (b >> 29) & 1u;
            m->avx2_cpuid = ((b >> 5) & 1u) && __builtin_cpu_supports("avx2");
            m->bmi2_cpuid = (b >> 8) & 1u;
        }
    }
#endif
    if (uname(&u) == 0) {
        snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    }
    file_system_of(dir, m->fs, sizeof m->fs);
}

/* ------------------------------------------------------------------------ */
/* Measurement                                                              */
/* ------------------------------------------------------------------------ */

typedef void (*run_fn)(void *arg, uint64_t iters);
typedef void (*hook_fn)(void *arg);

typedef struct {
    const char *name;
    run_fn run;
    void *arg;
    hook_fn before; /* untimed, before every sample */
} impl_t;

typedef struct {
    const char *group;
    char name[96];
    const char *alg;
    size_t bytes; /* message bytes per call, for MB/s; 0: none */
    int n;
    impl_t im[MAX_IMPLS]; /* im[0] is codomyrmex_keys */
    double sample_s;
    uint64_t min_iters;
    const char *note;
} workload_t;

typedef struct {
    char workload[96];
    char impl[80];
    double median_s;
    double ratio; /* median of per-repetition ours/impl; 0 for ours */
} summary_t;

static struct {
    int reps;
    double sample_s;
    const char *filter;
    FILE *csv;
    summary_t results[MAX_RESULTS];
    int n_results;
    const char *last_group;
    int run_only;       /* >= 0: no timing, run implementation K ... */
    uint64_t run_iters; /* ... this many times (for strace -c) */
} g = {7, 0.040, NULL, NULL, {{"", "", 0, 0}}, 0, NULL, -1, 0};

static double run_sample(const impl_t *im, uint64_t iters)
{
    double t0, t1;

    if (im->before != NULL) {
        im->before(im->arg);
    }
    t0 = now_s();
    im->run(im->arg, iters);
    t1 = now_s();
    return (t1 - t0) / (double)iters;
}

/* Iterations for one sample of about `target` seconds; also warms up. */
static uint64_t calibrate(const impl_t *im, double target, uint64_t min_iters)
{
    uint64_t iters = 1;

    for (;;) {
        double per_call = run_sample(im, iters);
        double total = per_call * (double)iters;
        uint64_t want;
        if (total >= target * 0.5 || iters >= (1u << 30)) {
            want = (uint64_t)(target / per_call) + 1;
            return want < min_iters ? min_iters : want;
        }
        want = total > 0 ? (uint64_t)(target / per_call * 0.6) : iters * 10;
        iters = want > iters * 2 ? want : iters * 2;
    }
}

/* One CSV field, quoted when it holds a comma or a quote. */
static void csv_field(const char *text, char end)
{
    const char *p;

    if (strpbrk(text, ",\"") == NULL) {
        fprintf(g.csv, "%s%c", text, end);
        return;
    }
    fputc('"', g.csv);
    for (p = text; *p; p++) {
        if (*p == '"') {
            fputc('"', g.csv);
        }
        fputc(*p, g.csv);
    }
    fprintf(g.csv, "\"%c", end);
}

static bool selected(const char *name)
{
    return g.filter == NULL || strstr(name, g.filter) != NULL;
}

static void print_group_header(const char *group)
{
    if (g.last_group != NULL && strcmp(g.last_group, group) == 0) {
        return;
    }
    g.last_group = group;
    printf("\n== %s ==\n", group);
    printf("%-30s %-52s %12s %10s %9s  %s\n", "workload", "implementation", "median",
           "MB/s", "ours/impl", "ours/impl per repetition");
    fflush(stdout);
}

static void record(const char *workload, const char *impl, double med, double ratio)
{
    summary_t *s;

    if (g.n_results == MAX_RESULTS) {
        return;
    }
    s = &g.results[g.n_results++];
    snprintf(s->workload, sizeof s->workload, "%s", workload);
    snprintf(s->impl, sizeof s->impl, "%s", impl);
    s->median_s = med;
    s->ratio = ratio;
}

/* Times every implementation of `w`; false if the filter skips it. */
static bool measure(workload_t *w)
{
    double t[MAX_IMPLS][MAX_REPS];
    uint64_t iters[MAX_IMPLS];
    int i, r;

    if (!selected(w->name)) {
        return false;
    }
    if (g.run_only >= 0) {
        if (g.run_only < w->n) {
            impl_t *im = &w->im[g.run_only];
            if (im->before != NULL) {
                im->before(im->arg);
            }
            im->run(im->arg, g.run_iters);
            printf("ran %s: %s x %llu\n", w->name, im->name, (unsigned long long)g.run_iters);
        }
        return false;
    }
    print_group_header(w->group);
    for (i = 0; i < w->n; i++) {
        iters[i] = calibrate(&w->im[i], w->sample_s, w->min_iters);
    }
    for (r = 0; r < g.reps; r++) {
        for (i = 0; i < w->n; i++) {
            int k = (i + r) % w->n; /* a different order every repetition */
            t[k][r] = run_sample(&w->im[k], iters[k]);
        }
    }
    for (i = 0; i < w->n; i++) {
        double med = median(t[i], g.reps);
        double ratios[MAX_REPS], ratio = 0;
        char when[32], rate[32] = "", per_rep[MAX_REPS * 6 + 1] = "";
        size_t used = 0;

        fmt_time(when, sizeof when, med);
        if (w->bytes > 0) {
            snprintf(rate, sizeof rate, "%.1f", (double)w->bytes / med / 1e6);
        }
        if (i > 0) {
            for (r = 0; r < g.reps; r++) {
                ratios[r] = t[0][r] / t[i][r];
                used += (size_t)snprintf(per_rep + used, sizeof per_rep - used, "%s%.2f",
                                         r ? " " : "", ratios[r]);
                if (used >= sizeof per_rep) {
                    used = sizeof per_rep - 1;
                }
            }
            ratio = median(ratios, g.reps);
            printf("%-30s %-52s %12s %10s %9.2f  %s\n", "", w->im[i].name, when, rate, ratio,
                   per_rep);
        } else {
            printf("%-30s %-52s %12s %10s %9s\n", w->name, w->im[i].name, when, rate, "");
        }
        record(w->name, w->im[i].name, med, ratio);
        if (g.csv != NULL) {
            double lo = t[i][0], hi = t[i][0];
            for (r = 1; r < g.reps; r++) {
                lo = t[i][r] < lo ? t[i][r] : lo;
                hi = t[i][r] > hi ? t[i][r] : hi;
            }
            csv_field(w->group, ',');
            csv_field(w->name, ',');
            csv_field(w->alg, ',');
            fprintf(g.csv, "%zu,", w->bytes);
            csv_field(w->im[i].name, ',');
            fprintf(g.csv, "%.3f,%.3f,%.3f,%s,%llu,", med * 1e9, lo * 1e9, hi * 1e9, rate,
                    (unsigned long long)iters[i]);
            if (i > 0) {
                fprintf(g.csv, "%.4f,", ratio);
                for (r = 0; r < g.reps; r++) {
                    fprintf(g.csv, "%s%.4f", r ? ";" : "", ratios[r]);
                }
            } else {
                fprintf(g.csv, ",");
            }
            fprintf(g.csv, ",");
            csv_field(w->note ? w->note : "", '\n');
        }
    }
    if (w->note != NULL) {
        printf("%-30s (%s)\n", "", w->note);
    }
    fflush(stdout);
    return true;
}

/* ------------------------------------------------------------------------ */
/* HMAC                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint32_t alg;
    const char *md_name;
    const EVP_MD *md;
    size_t dlen;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *msg;
    size_t len;
    size_t chunk; /* streaming: bytes per update */
    EVP_MAC_CTX *mctx;
    uint8_t mac[64];
    uint8_t expected[64];
} mac_arg_t;

static void run_ours_hmac(void *p, uint64_t n)
{
    mac_arg_t *a = p;
    size_t out_len;

    while (n--) {
        ours(codomyrmex_hmac_compute(a->alg, a->key, a->key_len, a->msg, a->len, a->mac,
                                     sizeof a->mac, &out_len),
             "codomyrmex_hmac_compute");
        g_sink ^= a->mac[0];
    }
}

static void evp_mac_once(mac_arg_t *a, uint8_t *out)
{
    size_t out_len;

    if (!EVP_MAC_init(a->mctx, a->key, a->key_len, NULL) ||
        !EVP_MAC_update(a->mctx, a->msg, a->len) ||
        !EVP_MAC_final(a->mctx, out, &out_len, 64)) {
        die("EVP_MAC failed");
    }
}

static void run_evp_mac(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        evp_mac_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

/* The fair peer of a keyring: the key set once (before timing), then
 * EVP_MAC_init with a NULL key reuses the keyed state for every message. */
static void evp_mac_kept_once(mac_arg_t *a, uint8_t *out)
{
    size_t out_len;

    if (!EVP_MAC_init(a->mctx, NULL, 0, NULL) || !EVP_MAC_update(a->mctx, a->msg, a->len) ||
        !EVP_MAC_final(a->mctx, out, &out_len, 64)) {
        die("EVP_MAC (key kept) failed");
    }
}

static void run_evp_mac_kept(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        evp_mac_kept_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

static void run_hmac_oneshot(void *p, uint64_t n)
{
    mac_arg_t *a = p;
    unsigned int out_len;

    while (n--) {
        if (HMAC(a->md, a->key, (int)a->key_len, a->msg, a->len, a->mac, &out_len) == NULL) {
            die("HMAC() failed");
        }
        g_sink ^= a->mac[0];
    }
}

static void sodium_hmac_once(const mac_arg_t *a, uint8_t *out)
{
    /* crypto_auth_hmacsha*() take a 32-byte key; the _init forms any length. */
    if (a->alg == CODOMYRMEX_SHA256) {
        crypto_auth_hmacsha256(out, a->msg, a->len, a->key);
    } else {
        crypto_auth_hmacsha512(out, a->msg, a->len, a->key);
    }
}

static void run_sodium_hmac(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        sodium_hmac_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

/* Streaming: a fresh keyed state per message, `chunk` bytes per update. */
static void ours_stream_once(mac_arg_t *a, uint8_t *out)
{
    codomyrmex_hmac *ctx = NULL;
    size_t off, out_len;

    ours(codomyrmex_hmac_new(a->alg, a->key, a->key_len, &ctx), "codomyrmex_hmac_new");
    for (off = 0; off < a->len; off += a->chunk) {
        ours(codomyrmex_hmac_update(ctx, a->msg + off, a->chunk), "codomyrmex_hmac_update");
    }
    ours(codomyrmex_hmac_finish(ctx, out, 64, &out_len), "codomyrmex_hmac_finish");
    codomyrmex_hmac_free(ctx);
}

static void run_ours_stream(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        ours_stream_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

static void evp_stream_once(mac_arg_t *a, uint8_t *out)
{
    size_t off, out_len;

    if (!EVP_MAC_init(a->mctx, a->key, a->key_len, NULL)) {
        die("EVP_MAC_init failed");
    }
    for (off = 0; off < a->len; off += a->chunk) {
        if (!EVP_MAC_update(a->mctx, a->msg + off, a->chunk)) {
            die("EVP_MAC_update failed");
        }
    }
    if (!EVP_MAC_final(a->mctx, out, &out_len, 64)) {
        die("EVP_MAC_final failed");
    }
}

static void run_evp_stream(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        evp_stream_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

static void sodium_stream_once(const mac_arg_t *a, uint8_t *out)
{
    size_t off;

    if (a->alg == CODOMYRMEX_SHA256) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, a->key, a->key_len);
        for (off = 0; off < a->len; off += a->chunk) {
            crypto_auth_hmacsha256_update(&st, a->msg + off, a->chunk);
        }
        crypto_auth_hmacsha256_final(&st, out);
    } else {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, a->key, a->key_len);
        for (off = 0; off < a->len; off += a->chunk) {
            crypto_auth_hmacsha512_update(&st, a->msg + off, a->chunk);
        }
        crypto_auth_hmacsha512_final(&st, out);
    }
}

static void run_sodium_stream(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        sodium_stream_once(a, a->mac);
        g_sink ^= a->mac[0];
    }
}

/* Verify: a correct MAC (a->expected) is checked. OpenSSL has no verify
 * call: compute, then CRYPTO_memcmp. */
static void run_ours_verify(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        ours(codomyrmex_hmac_verify(a->alg, a->key, a->key_len, a->msg, a->len, a->expected,
                                    a->dlen),
             "codomyrmex_hmac_verify");
    }
}

static void run_evp_verify(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        evp_mac_once(a, a->mac);
        if (CRYPTO_memcmp(a->mac, a->expected, a->dlen) != 0) {
            die("EVP_MAC verify mismatch");
        }
    }
}

static void run_hmac_oneshot_verify(void *p, uint64_t n)
{
    mac_arg_t *a = p;
    unsigned int out_len;

    while (n--) {
        if (HMAC(a->md, a->key, (int)a->key_len, a->msg, a->len, a->mac, &out_len) == NULL ||
            CRYPTO_memcmp(a->mac, a->expected, a->dlen) != 0) {
            die("HMAC() verify mismatch");
        }
    }
}

static int sodium_verify_once(const mac_arg_t *a)
{
    if (a->alg == CODOMYRMEX_SHA256) {
        return crypto_auth_hmacsha256_verify(a->expected, a->msg, a->len, a->key);
    }
    return crypto_auth_hmacsha512_verify(a->expected, a->msg, a->len, a->key);
}

static void run_sodium_verify(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        if (sodium_verify_once(a) != 0) {
            die("libsodium verify mismatch");
        }
    }
}

/* ------------------------------------------------------------------------ */
/* HKDF                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint32_t alg;
    const uint8_t *ikm, *salt, *info;
    size_t ikm_len, salt_len, info_len;
    uint8_t *out;
    size_t out_len;
    EVP_KDF_CTX *kctx;
} kdf_arg_t;

static void run_ours_hkdf(void *p, uint64_t n)
{
    kdf_arg_t *a = p;

    while (n--) {
        ours(codomyrmex_hkdf_derive(a->alg, a->ikm, a->ikm_len, a->salt, a->salt_len, a->info,
                                    a->info_len, a->out, a->out_len),
             "codomyrmex_hkdf_derive");
        g_sink ^= a->out[0];
    }
}

static void run_evp_hkdf(void *p, uint64_t n)
{
    kdf_arg_t *a = p;

    while (n--) {
        /* The context keeps digest, key, salt and info from set_params. */
        if (EVP_KDF_derive(a->kctx, a->out, a->out_len, NULL) != 1) {
            die("EVP_KDF_derive failed");
        }
        g_sink ^= a->out[0];
    }
}

/* ------------------------------------------------------------------------ */
/* Key store and its floors                                                 */
/* ------------------------------------------------------------------------ */

/* Flags the library opens existing entries with (src/store/sys.rs). */
#define READ_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define CREATE_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

typedef struct {
    codomyrmex_key_manager *km;
    int dirfd;   /* the directory the operation works in */
    int vdirfd;  /* floor of a versioned write: the records directory */
    int rootfd;  /* for syncfs */
    const char *id;
    char file[160];
    uint8_t key[32];
    uint8_t got[64];
    uint64_t counter;
    char *list_buf;
    size_t list_cap;
    char *dents; /* LIST_BUF_BYTES for the listing floor */
    const uint8_t *msg;
    size_t msg_len;
} ks_arg_t;

static void next_key(ks_arg_t *a)
{
    a->counter++;
    memcpy(a->key, &a->counter, sizeof a->counter);
}

static size_t floor_read(int dirfd, const char *name, uint8_t *out, size_t cap)
{
    struct stat st;
    ssize_t got;
    int fd = openat(dirfd, name, READ_FLAGS);

    if (fd < 0) {
        die_errno("floor: openat");
    }
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > cap) {
        die("floor: fstat");
    }
    got = read(fd, out, (size_t)st.st_size);
    if (got != st.st_size) {
        die("floor: short read");
    }
    close(fd);
    return (size_t)got;
}

/* open O_CREAT|O_EXCL a temporary, write, fdatasync, close, rename, fsync(dir) */
static void floor_durable_write(int dirfd, const char *name, const uint8_t *bytes, size_t len)
{
    int fd = openat(dirfd, ".floor.tmp", CREATE_FLAGS, 0600);

    if (fd < 0) {
        die_errno("floor: openat O_CREAT|O_EXCL");
    }
    if (write(fd, bytes, len) != (ssize_t)len || fdatasync(fd) != 0) {
        die_errno("floor: write/fdatasync");
    }
    close(fd);
    if (renameat(dirfd, ".floor.tmp", dirfd, name) != 0 || fsync(dirfd) != 0) {
        die_errno("floor: rename/fsync");
    }
}

/* Removes every entry but .lock from `dirfd` (files and one level of
 * subdirectories), then flushes the directory. Untimed set-up. */
static void empty_dir(int dirfd, bool keep_subdirs)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    struct dirent *e;

    if (d == NULL) {
        die_errno("opendir");
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, ".lock") == 0) {
            continue;
        }
        if (e->d_type == DT_DIR) {
            if (!keep_subdirs) {
                int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0) {
                    die_errno("openat subdir");
                }
                empty_dir(sub, false);
                close(sub);
                unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
            }
            continue;
        }
        if (unlinkat(dirfd, e->d_name, 0) != 0) {
            die_errno("unlinkat");
        }
    }
    closedir(d);
    fsync(dirfd);
}

/* get */
static void run_ours_get(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    size_t len;

    while (n--) {
        ours(codomyrmex_key_manager_get(a->km, a->id, a->got, sizeof a->got, &len),
             "codomyrmex_key_manager_get");
        g_sink ^= a->got[0];
    }
}

static void run_floor_get(void *p, uint64_t n)
{
    ks_arg_t *a = p;

    while (n--) {
        floor_read(a->dirfd, a->file, a->got, sizeof a->got);
        g_sink ^= a->got[0];
    }
}

/* exists */
static void run_ours_exists(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    bool exists = false;

    while (n--) {
        ours(codomyrmex_key_manager_exists(a->km, a->id, &exists),
             "codomyrmex_key_manager_exists");
        if (!exists) {
            die("exists: key missing");
        }
    }
}

static void run_floor_exists(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    struct stat st;

    while (n--) {
        if (fstatat(a->dirfd, a->file, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            die("floor: fstatat");
        }
    }
}

/* key_manager_hmac */
static void run_ours_km_hmac(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    uint8_t mac[64];
    size_t len;

    while (n--) {
        ours(codomyrmex_key_manager_hmac(a->km, a->id, CODOMYRMEX_SHA256, a->msg, a->msg_len, mac,
                                         sizeof mac, &len),
             "codomyrmex_key_manager_hmac");
        g_sink ^= mac[0];
    }
}

/* A keyring's calls: MAC, or verify a MAC of the same message. */
typedef struct {
    codomyrmex_keyring *kr;
    const uint8_t *msg;
    size_t len;
    uint8_t expected[64];
    size_t expected_len;
} kr_arg_t;

static void run_keyring_hmac(void *p, uint64_t n)
{
    kr_arg_t *a = p;
    uint8_t mac[64];
    size_t len;

    while (n--) {
        ours(codomyrmex_keyring_hmac(a->kr, a->msg, a->len, mac, sizeof mac, &len),
             "codomyrmex_keyring_hmac");
        g_sink ^= mac[0];
    }
}

static void run_keyring_verify(void *p, uint64_t n)
{
    kr_arg_t *a = p;

    while (n--) {
        ours(codomyrmex_keyring_hmac_verify(a->kr, a->msg, a->len, a->expected, a->expected_len),
             "codomyrmex_keyring_hmac_verify");
    }
}

/* The keyed-state peer of a keyring's verify: compute with the key kept,
 * then CRYPTO_memcmp. */
static void run_evp_kept_verify(void *p, uint64_t n)
{
    mac_arg_t *a = p;

    while (n--) {
        evp_mac_kept_once(a, a->mac);
        if (CRYPTO_memcmp(a->mac, a->expected, a->dlen) != 0) {
            die("check failed: EVP_MAC (key kept) verify");
        }
    }
}

static void run_floor_km_hmac(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    uint8_t mac[64];
    size_t len, key_len;

    while (n--) {
        key_len = floor_read(a->dirfd, a->file, a->got, sizeof a->got);
        ours(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, a->got, key_len, a->msg, a->msg_len, mac,
                                     sizeof mac, &len),
             "codomyrmex_hmac_compute");
        g_sink ^= mac[0];
    }
}

/* store of a new key: a fresh id every call, the directory emptied before
 * every sample */
static void before_store_new(void *p)
{
    ks_arg_t *a = p;

    empty_dir(a->dirfd, false);
}

static void run_ours_store_new(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    char id[32];

    while (n--) {
        next_key(a);
        snprintf(id, sizeof id, "n%llu", (unsigned long long)a->counter);
        ours(codomyrmex_key_manager_store(a->km, id, a->key, sizeof a->key),
             "codomyrmex_key_manager_store");
    }
}

static void run_floor_store_new(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    char name[40];

    while (n--) {
        next_key(a);
        snprintf(name, sizeof name, "n%llu.key", (unsigned long long)a->counter);
        floor_durable_write(a->dirfd, name, a->key, sizeof a->key);
    }
}

/* store over an existing key and rotate: the library records the current
 * version, then replaces the key file. Before every sample older versions
 * are pruned and one untimed store leaves the current version unrecorded,
 * the state every later call meets. */
static void before_ours_versioned(void *p)
{
    ks_arg_t *a = p;

    ours(codomyrmex_key_manager_prune(a->km, a->id, 1), "codomyrmex_key_manager_prune");
    next_key(a);
    ours(codomyrmex_key_manager_store(a->km, a->id, a->key, sizeof a->key),
         "codomyrmex_key_manager_store");
    fsync(a->dirfd);
}

static void run_ours_store_over(void *p, uint64_t n)
{
    ks_arg_t *a = p;

    while (n--) {
        next_key(a);
        ours(codomyrmex_key_manager_store(a->km, a->id, a->key, sizeof a->key),
             "codomyrmex_key_manager_store");
    }
}

static void run_ours_rotate(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    size_t old_len;

    while (n--) {
        next_key(a);
        ours(codomyrmex_key_manager_rotate(a->km, a->id, a->key, sizeof a->key, a->got,
                                           sizeof a->got, &old_len),
             "codomyrmex_key_manager_rotate");
        g_sink ^= a->got[0];
    }
}

static void before_floor_versioned(void *p)
{
    ks_arg_t *a = p;

    empty_dir(a->vdirfd, false);
}

/* read the current key, record it durably as a version, write the new key
 * durably */
static void run_floor_versioned(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    char record[32];
    size_t len;

    while (n--) {
        len = floor_read(a->dirfd, a->file, a->got, sizeof a->got);
        snprintf(record, sizeof record, "%llu", (unsigned long long)a->counter);
        floor_durable_write(a->vdirfd, record, a->got, len);
        next_key(a);
        floor_durable_write(a->dirfd, a->file, a->key, sizeof a->key);
    }
}

/* one durable write over the key: what a store without versions costs */
static void run_floor_overwrite(void *p, uint64_t n)
{
    ks_arg_t *a = p;

    while (n--) {
        next_key(a);
        floor_durable_write(a->dirfd, a->file, a->key, sizeof a->key);
    }
}

/* for reference: a write with no flush at all */
static void run_plain_overwrite(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    int fd;

    while (n--) {
        next_key(a);
        fd = openat(a->dirfd, a->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, a->key, sizeof a->key) != (ssize_t)sizeof a->key) {
            die_errno("plain write");
        }
        close(fd);
    }
}

/* list */
static void run_ours_list(void *p, uint64_t n)
{
    ks_arg_t *a = p;
    size_t len, count;

    while (n--) {
        ours(codomyrmex_key_manager_list(a->km, a->list_buf, a->list_cap, &len, &count),
             "codomyrmex_key_manager_list");
        g_sink ^= (uint8_t)count;
    }
}

/* open the directory, getdents64 until the end with the library's buffer
 * size, close; returns the number of names ending in ".key" */
static size_t floor_list_once(int dirfd, char *buf, void (*visit)(const char *, void *),
                              void *ctx)
{
    size_t keys = 0;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        die_errno("floor: open dir");
    }
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, LIST_BUF_BYTES);
        long off = 0;
        if (got < 0) {
            die_errno("floor: getdents64");
        }
        if (got == 0) {
            break;
        }
        if (visit != NULL) {
            while (off < got) {
                unsigned short reclen;
                const char *name = buf + off + 19;
                memcpy(&reclen, buf + off + 16, sizeof reclen);
                visit(name, ctx);
                off += reclen;
            }
        }
        keys += (size_t)got;
    }
    close(fd);
    return keys;
}

static void run_floor_list(void *p, uint64_t n)
{
    ks_arg_t *a = p;

    while (n--) {
        g_sink ^= (uint8_t)floor_list_once(a->dirfd, a->dents, NULL, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */
/* ------------------------------------------------------------------------ */

static const struct {
    uint32_t alg;
    const char *name;    /* table */
    const char *md_name; /* OpenSSL */
    size_t dlen;
} ALGS[] = {
    {CODOMYRMEX_SHA256, "SHA256", "SHA256", 32},
    {CODOMYRMEX_SHA384, "SHA384", "SHA384", 48},
    {CODOMYRMEX_SHA512, "SHA512", "SHA512", 64},
};

static const EVP_MD *md_of(uint32_t alg)
{
    return alg == CODOMYRMEX_SHA256 ? EVP_sha256()
           : alg == CODOMYRMEX_SHA384 ? EVP_sha384()
                                      : EVP_sha512();
}

static EVP_MAC *g_mac;
static EVP_KDF *g_kdf;

static EVP_MAC_CTX *new_mac_ctx(const char *md_name)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(g_mac);
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || !EVP_MAC_CTX_set_params(ctx, params)) {
        die("EVP_MAC_CTX set-up failed");
    }
    return ctx;
}

static EVP_KDF_CTX *new_kdf_ctx(const char *md_name, kdf_arg_t *a)
{
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(g_kdf);
    OSSL_PARAM params[5], *p = params;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)a->ikm, a->ikm_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)a->salt, a->salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)a->info, a->info_len);
    *p = OSSL_PARAM_construct_end();
    if (ctx == NULL || !EVP_KDF_CTX_set_params(ctx, params)) {
        die("EVP_KDF_CTX set-up failed");
    }
    return ctx;
}

static const char *MARKER = ".codomyrmex-bench";
static const char *SUBDIRS[] = {"keys", "store-new", "floor-store-new", "over", "floor-over",
                                "floor-overwrite", "plain", "list-1000", "list-10000"};

static void remove_tree(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT) {
            return;
        }
        die_errno(name);
    }
    empty_dir(fd, false);
    unlinkat(fd, ".lock", 0);
    close(fd);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0) {
        die_errno("remove subdirectory");
    }
}

/* The working directory: new, or one this program made. */
static int open_root(const char *dir)
{
    struct stat st;
    int fd, marker;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        die_errno(dir);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        die_errno(dir);
    }
    if (fstatat(fd, MARKER, &st, 0) != 0) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                die("%s is not empty and was not made by this program; pass another --dir", dir);
            }
        }
        if (d != NULL) {
            closedir(d);
        }
        marker = openat(fd, MARKER, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (marker < 0) {
            die_errno("marker");
        }
        close(marker);
    }
    fchmod(fd, 0700);
    return fd;
}

static int make_subdir(int rootfd, const char *name)
{
    int fd;

    remove_tree(rootfd, name);
    if (mkdirat(rootfd, name, 0700) != 0) {
        die_errno(name);
    }
    fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        die_errno(name);
    }
    return fd;
}

static codomyrmex_key_manager *open_km(const char *root, const char *sub)
{
    char path[PATH_MAX];
    codomyrmex_key_manager *km = NULL;

    snprintf(path, sizeof path, "%s/%s", root, sub);
    ours(codomyrmex_key_manager_open(path, &km), "codomyrmex_key_manager_open");
    return km;
}

/* Key files made directly (not timed, not flushed individually). */
static void populate(int dirfd, int count)
{
    uint8_t key[32];
    char name[32];
    int i, fd;

    for (i = 0; i < count; i++) {
        snprintf(name, sizeof name, "key-%05d.key", i);
        fill(key, sizeof key, (uint32_t)i);
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key) {
            die_errno("populate");
        }
        close(fd);
    }
}

/* The listing check: the library's ids are exactly the floor's *.key names,
 * sorted. */
typedef struct {
    char **names;
    size_t n, cap;
} names_t;

static void collect_key_name(const char *name, void *ctx)
{
    names_t *v = ctx;
    size_t len = strlen(name);

    if (len > 4 && strcmp(name + len - 4, ".key") == 0) {
        if (v->n == v->cap) {
            v->cap = v->cap ? v->cap * 2 : 1024;
            v->names = realloc(v->names, v->cap * sizeof *v->names);
            if (v->names == NULL) {
                die("out of memory");
            }
        }
        v->names[v->n++] = strndup(name, len - 4);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_list(ks_arg_t *a, size_t expected)
{
    names_t v = {NULL, 0, 0};
    size_t len, count, i;
    const char *p;

    ours(codomyrmex_key_manager_list(a->km, a->list_buf, a->list_cap, &len, &count),
         "codomyrmex_key_manager_list");
    floor_list_once(a->dirfd, a->dents, collect_key_name, &v);
    qsort(v.names, v.n, sizeof *v.names, cmp_str);
    if (count != expected || v.n != expected) {
        die("check failed: list: %zu ids, %zu files, %zu expected", count, v.n, expected);
    }
    for (i = 0, p = a->list_buf; i < count; i++, p += strlen(p) + 1) {
        if (strcmp(p, v.names[i]) != 0) {
            die("check failed: list: id %zu is %s, the directory has %s", i, p, v.names[i]);
        }
        free(v.names[i]);
    }
    free(v.names);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static workload_t *new_workload(const char *group, const char *alg, size_t bytes)
{
    workload_t *w = calloc(1, sizeof *w);

    if (w == NULL) {
        die("out of memory");
    }
    w->group = group;
    w->alg = alg;
    w->bytes = bytes;
    w->sample_s = g.sample_s;
    w->min_iters = 1;
    return w;
}

static void add(workload_t *w, const char *name, run_fn run, void *arg, hook_fn before)
{
    w->im[w->n].name = name;
    w->im[w->n].run = run;
    w->im[w->n].arg = arg;
    w->im[w->n].before = before;
    w->n++;
}

static const char *OURS = "codomyrmex_keys";
static const char *EVP = "OpenSSL EVP_MAC (ctx reused)";
static const char *ONESHOT = "OpenSSL HMAC()";
static const char *EVP_KEPT = "OpenSSL EVP_MAC, key kept (init with NULL key)";
static const char *SODIUM = "libsodium";

static void check_target(const char *workload, const char *impl, double limit, int *met,
                         int *total)
{
    int i;

    for (i = 0; i < g.n_results; i++) {
        if (strcmp(g.results[i].workload, workload) == 0 &&
            strcmp(g.results[i].impl, impl) == 0) {
            bool ok = g.results[i].ratio <= limit;
            printf("  %-4s %-28s vs %-52s %5.2f  (target <= %.2f)\n", ok ? "met" : "MISS",
                   workload, impl, g.results[i].ratio, limit);
            *met += ok;
            (*total)++;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = "bench-keys", *csv_path = "bench-results.csv";
    static const size_t SIZES[] = {32, 1024, 64 * 1024, 1024 * 1024};
    static const char *ALG_NAMES[] = {"HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"};
    machine_t m;
    uint8_t key[32], salt[32], info[16], *msg;
    size_t a_i, s_i;
    int rootfd, i, met = 0, total = 0;
    char sz[32];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv_path = argv[++i];
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            g.reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc) {
            g.sample_s = atof(argv[++i]) / 1e3;
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            g.filter = argv[++i];
        } else if (strcmp(argv[i], "--run-only") == 0 && i + 2 < argc) {
            g.run_only = atoi(argv[++i]);
            g.run_iters = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr,
                    "usage: %s [--dir DIR] [--csv FILE] [--reps N] [--time-ms MS] "
                    "[--filter TEXT] [--run-only IMPL_INDEX ITERATIONS]\n",
                    argv[0]);
            return 2;
        }
    }
    if (g.reps < 5 || g.reps > MAX_REPS) {
        die("--reps must be 5 to %d", MAX_REPS);
    }
    if (!(g.sample_s > 0)) {
        die("--time-ms must be positive");
    }
    if (sodium_init() < 0) {
        die("sodium_init failed");
    }
    g_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (g_mac == NULL || g_kdf == NULL) {
        die("OpenSSL has no HMAC or HKDF");
    }

    rootfd = open_root(dir);
    probe_machine(&m, dir);
    printf("codomyrmex_keys %s | %s | libsodium %s\n", codomyrmex_version(),
           OpenSSL_version(OPENSSL_VERSION), sodium_version_string());
    printf("CPU: %s\n", m.cpu);
    printf("SHA-NI: %s (cpuid) / %s (/proc/cpuinfo)   AVX2: %s / %s   BMI2: %s / %s\n",
           m.sha_cpuid ? "yes" : "no", m.sha_proc ? "yes" : "no", m.avx2_cpuid ? "yes" : "no",
           m.avx2_proc ? "yes" : "no", m.bmi2_cpuid ? "yes" : "no", m.bmi2_proc ? "yes" : "no");
    printf("kernel: %s\n", m.kernel);
    printf("key directory: %s: %s\n", dir, m.fs);
    if (strstr(m.fs, "tmpfs") == m.fs) {
        printf("warning: the key directory is on tmpfs: the durable rows measure no disk\n");
    }
    printf("compiler: %s\n", __VERSION__);
    printf("repetitions: %d, sample: %.0f ms (durable rows: %.0f ms)\n", g.reps,
           g.sample_s * 1e3, g.sample_s * 1e4);
    printf("ratios are ours/peer time: < 1 means codomyrmex_keys is faster\n");

    g.csv = fopen(csv_path, "w");
    if (g.csv == NULL) {
        die_errno(csv_path);
    }
    fprintf(g.csv, "# cpu=%s; sha_ni=%d; avx2=%d; kernel=%s; fs=%s; reps=%d; "
                   "codomyrmex_keys=%s; openssl=%s; libsodium=%s\n",
            m.cpu, m.sha_cpuid, m.avx2_cpuid, m.kernel, m.fs, g.reps, codomyrmex_version(),
            OpenSSL_version(OPENSSL_VERSION), sodium_version_string());
    fprintf(g.csv, "group,workload,alg,bytes,impl,median_ns,min_ns,max_ns,mb_per_s,"
                   "iters_per_sample,ratio_ours_over_impl,ratios_per_rep,note\n");

    fill(key, sizeof key, 1);
    fill(salt, sizeof salt, 2);
    fill(info, sizeof info, 3);
    msg = malloc(1024 * 1024);
    if (msg == NULL) {
        die("out of memory");
    }
    fill(msg, 1024 * 1024, 4);

    /* -------------------------- HMAC one-shot --------------------------- */
    for (a_i = 0; a_i < 3; a_i++) {
        for (s_i = 0; s_i < 4; s_i++) {
            workload_t *w = new_workload("HMAC one-shot, 32-byte key", ALGS[a_i].name,
                                         SIZES[s_i]);
            mac_arg_t *args = calloc(5, sizeof *args);
            uint8_t want[64], got[64];
            size_t len;
            int k;

            for (k = 0; k < 5; k++) {
                args[k].alg = ALGS[a_i].alg;
                args[k].md_name = ALGS[a_i].md_name;
                args[k].md = md_of(ALGS[a_i].alg);
                args[k].dlen = ALGS[a_i].dlen;
                args[k].key = key;
                args[k].key_len = sizeof key;
                args[k].msg = msg;
                args[k].len = SIZES[s_i];
                args[k].mctx = new_mac_ctx(ALGS[a_i].md_name);
            }
            snprintf(w->name, sizeof w->name, "%s %s", ALG_NAMES[a_i],
                     size_name(SIZES[s_i], sz, sizeof sz));
            add(w, OURS, run_ours_hmac, &args[0], NULL);
            add(w, EVP, run_evp_mac, &args[1], NULL);
            add(w, ONESHOT, run_hmac_oneshot, &args[2], NULL);
            /* Keyed once here; every timed call keeps the key. */
            evp_mac_once(&args[4], got);
            add(w, EVP_KEPT, run_evp_mac_kept, &args[4], NULL);
            if (ALGS[a_i].alg != CODOMYRMEX_SHA384) {
                add(w, SODIUM, run_sodium_hmac, &args[3], NULL);
            } else {
                w->note = "libsodium has no HMAC-SHA-384";
            }
            /* Same bytes from everyone, before any timing. */
            ours(codomyrmex_hmac_compute(args[0].alg, key, sizeof key, msg, SIZES[s_i], want,
                                         sizeof want, &len),
                 "codomyrmex_hmac_compute");
            evp_mac_once(&args[1], got);
            expect_same(w->name, EVP, want, got, len);
            HMAC(args[2].md, key, (int)sizeof key, msg, SIZES[s_i], got, NULL);
            expect_same(w->name, ONESHOT, want, got, len);
            evp_mac_kept_once(&args[4], got);
            expect_same(w->name, EVP_KEPT, want, got, len);
            if (ALGS[a_i].alg != CODOMYRMEX_SHA384) {
                sodium_hmac_once(&args[3], got);
                expect_same(w->name, SODIUM, want, got, len);
            }
            measure(w);
        }
    }

    /* ------------------- streaming and verification --------------------- */
    for (a_i = 0; a_i < 3; a_i++) {
        workload_t *w = new_workload("HMAC streaming, 1 MiB in 4 KiB updates, new key state "
                                     "per message",
                                     ALGS[a_i].name, 1024 * 1024);
        mac_arg_t *args = calloc(3, sizeof *args);
        uint8_t want[64], got[64];
        size_t len;
        int k;

        for (k = 0; k < 3; k++) {
            args[k].alg = ALGS[a_i].alg;
            args[k].dlen = ALGS[a_i].dlen;
            args[k].key = key;
            args[k].key_len = sizeof key;
            args[k].msg = msg;
            args[k].len = 1024 * 1024;
            args[k].chunk = 4096;
            args[k].mctx = new_mac_ctx(ALGS[a_i].md_name);
        }
        snprintf(w->name, sizeof w->name, "%s stream 1 MiB", ALG_NAMES[a_i]);
        add(w, "codomyrmex_keys (new/update/finish/free)", run_ours_stream, &args[0], NULL);
        add(w, "OpenSSL EVP_MAC init/update/final", run_evp_stream, &args[1], NULL);
        if (ALGS[a_i].alg != CODOMYRMEX_SHA384) {
            add(w, "libsodium _init/_update/_final", run_sodium_stream, &args[2], NULL);
        } else {
            w->note = "libsodium has no HMAC-SHA-384";
        }
        ours(codomyrmex_hmac_compute(args[0].alg, key, sizeof key, msg, 1024 * 1024, want,
                                     sizeof want, &len),
             "codomyrmex_hmac_compute");
        ours_stream_once(&args[0], got);
        expect_same(w->name, "codomyrmex_keys stream", want, got, len);
        evp_stream_once(&args[1], got);
        expect_same(w->name, EVP, want, got, len);
        if (ALGS[a_i].alg != CODOMYRMEX_SHA384) {
            sodium_stream_once(&args[2], got);
            expect_same(w->name, SODIUM, want, got, len);
        }
        measure(w);
    }
    for (a_i = 0; a_i < 3; a_i += 2) {
        workload_t *w = new_workload("HMAC verify, 32-byte message", ALGS[a_i].name, 32);
        mac_arg_t *args = calloc(4, sizeof *args);
        size_t len;
        int k;
        uint8_t bad[64];

        for (k = 0; k < 4; k++) {
            args[k].alg = ALGS[a_i].alg;
            args[k].md = md_of(ALGS[a_i].alg);
            args[k].dlen = ALGS[a_i].dlen;
            args[k].key = key;
            args[k].key_len = sizeof key;
            args[k].msg = msg;
            args[k].len = 32;
            args[k].mctx = new_mac_ctx(ALGS[a_i].md_name);
            ours(codomyrmex_hmac_compute(args[k].alg, key, sizeof key, msg, 32, args[k].expected,
                                         sizeof args[k].expected, &len),
                 "codomyrmex_hmac_compute");
        }
        snprintf(w->name, sizeof w->name, "%s verify 32 B", ALG_NAMES[a_i]);
        add(w, "codomyrmex_keys codomyrmex_hmac_verify", run_ours_verify, &args[0], NULL);
        add(w, "OpenSSL EVP_MAC + CRYPTO_memcmp", run_evp_verify, &args[1], NULL);
        add(w, "OpenSSL HMAC() + CRYPTO_memcmp", run_hmac_oneshot_verify, &args[2], NULL);
        add(w, "libsodium crypto_auth_hmacsha*_verify", run_sodium_verify, &args[3], NULL);
        /* Everyone accepts the right MAC (checked while calibrating too) and
         * refuses a wrong one. */
        memcpy(bad, args[0].expected, sizeof bad);
        bad[0] ^= 1;
        if (codomyrmex_hmac_verify(args[0].alg, key, sizeof key, msg, 32, bad, len) !=
                CODOMYRMEX_ERR_VERIFY_FAILED ||
            codomyrmex_hmac_verify(args[0].alg, key, sizeof key, msg, 32, args[0].expected,
                                   len) != CODOMYRMEX_OK) {
            die("check failed: codomyrmex_hmac_verify");
        }
        evp_mac_once(&args[1], bad);
        expect_same(w->name, EVP, args[0].expected, bad, len);
        if (sodium_verify_once(&args[3]) != 0) {
            die("check failed: libsodium verify");
        }
        measure(w);
    }

    /* ------------------------------ HKDF -------------------------------- */
    for (a_i = 0; a_i < 3; a_i++) {
        size_t outs[2];
        int o;

        outs[0] = 32;
        outs[1] = 255 * ALGS[a_i].dlen;
        for (o = 0; o < 2; o++) {
            workload_t *w = new_workload("HKDF extract+expand, 32-byte ikm and salt, 16-byte info",
                                         ALGS[a_i].name, 0);
            kdf_arg_t *args = calloc(2, sizeof *args);
            uint8_t *want = malloc(outs[o]);
            int k;

            for (k = 0; k < 2; k++) {
                args[k].alg = ALGS[a_i].alg;
                args[k].ikm = key;
                args[k].ikm_len = sizeof key;
                args[k].salt = salt;
                args[k].salt_len = sizeof salt;
                args[k].info = info;
                args[k].info_len = sizeof info;
                args[k].out = malloc(outs[o]);
                args[k].out_len = outs[o];
            }
            args[1].kctx = new_kdf_ctx(ALGS[a_i].md_name, &args[1]);
            snprintf(w->name, sizeof w->name, "HKDF-%s %zu B out", ALGS[a_i].name, outs[o]);
            add(w, OURS, run_ours_hkdf, &args[0], NULL);
            add(w, "OpenSSL EVP_KDF HKDF (ctx reused)", run_evp_hkdf, &args[1], NULL);
            w->note = "libsodium 1.0.18 has no HKDF (crypto_kdf_hkdf_* came in 1.0.19)";
            ours(codomyrmex_hkdf_derive(args[0].alg, key, sizeof key, salt, sizeof salt, info,
                                        sizeof info, want, outs[o]),
                 "codomyrmex_hkdf_derive");
            if (EVP_KDF_derive(args[1].kctx, args[1].out, outs[o], NULL) != 1) {
                die("EVP_KDF_derive failed");
            }
            expect_same(w->name, "OpenSSL EVP_KDF", want, args[1].out, outs[o]);
            free(want);
            measure(w);
        }
    }

    /* ---------------------------- key store ----------------------------- */
    {
        static const char *GET_ID = "bench-get";
        int keys_fd = make_subdir(rootfd, "keys");
        int store_new_fd = make_subdir(rootfd, "store-new");
        int floor_new_fd = make_subdir(rootfd, "floor-store-new");
        int over_fd = make_subdir(rootfd, "over");
        int floor_over_fd = make_subdir(rootfd, "floor-over");
        int floor_overwrite_fd = make_subdir(rootfd, "floor-overwrite");
        int plain_fd = make_subdir(rootfd, "plain");
        int list1k_fd = make_subdir(rootfd, "list-1000");
        int list10k_fd = make_subdir(rootfd, "list-10000");
        int floor_vfd, vroot;
        codomyrmex_key_manager *km = open_km(dir, "keys");
        codomyrmex_key_manager *km_new = open_km(dir, "store-new");
        codomyrmex_key_manager *km_over = open_km(dir, "over");
        codomyrmex_key_manager *km_1k = open_km(dir, "list-1000");
        codomyrmex_key_manager *km_10k = open_km(dir, "list-10000");
        ks_arg_t *a = calloc(24, sizeof *a);
        uint8_t want[64];
        size_t len, list_cap = 10000 * 16 * 2;
        char *list_buf = malloc(list_cap), *dents = malloc(LIST_BUF_BYTES);
        workload_t *w;

        if (a == NULL || list_buf == NULL || dents == NULL) {
            die("out of memory");
        }
        for (i = 0; i < 24; i++) {
            a[i].rootfd = rootfd;
            a[i].msg = msg;
            a[i].msg_len = 32;
            a[i].list_buf = list_buf;
            a[i].list_cap = list_cap;
            a[i].dents = dents;
            a[i].counter = (uint64_t)i << 40;
        }
        ours(codomyrmex_key_manager_store(km, GET_ID, key, sizeof key), "store");
        populate(list1k_fd, 1000);
        populate(list10k_fd, 10000);
        /* the versioned floor: a key file and its records directory */
        floor_durable_write(floor_over_fd, "over.key", key, sizeof key);
        floor_durable_write(floor_overwrite_fd, "over.key", key, sizeof key);
        floor_durable_write(plain_fd, "over.key", key, sizeof key);
        if (mkdirat(floor_over_fd, ".versions", 0700) != 0 ||
            (vroot = openat(floor_over_fd, ".versions", O_RDONLY | O_DIRECTORY)) < 0 ||
            mkdirat(vroot, "over", 0700) != 0 ||
            (floor_vfd = openat(vroot, "over", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            die_errno("floor versions directory");
        }
        close(vroot);
        ours(codomyrmex_key_manager_store(km_over, "over", key, sizeof key), "store");
        ours(codomyrmex_key_manager_store(km_over, "rot", key, sizeof key), "store");
        /* Flush the set-up so that no later flush pays for it. */
        syncfs(rootfd);

        /* get */
        a[0].km = km;
        a[0].id = GET_ID;
        a[1].dirfd = keys_fd;
        snprintf(a[1].file, sizeof a[1].file, "%s.key", GET_ID);
        ours(codomyrmex_key_manager_get(km, GET_ID, want, sizeof want, &len), "get");
        expect_same("get", OURS, key, want, sizeof key);
        if (floor_read(keys_fd, a[1].file, a[1].got, sizeof a[1].got) != sizeof key) {
            die("check failed: floor get");
        }
        expect_same("get", "floor", key, a[1].got, sizeof key);
        w = new_workload("key store (floor: the bare system calls, from C)", "", 0);
        snprintf(w->name, sizeof w->name, "get (32-byte key)");
        add(w, "codomyrmex_key_manager_get", run_ours_get, &a[0], NULL);
        add(w, "floor: openat+fstat+read+close", run_floor_get, &a[1], NULL);
        measure(w);

        /* exists */
        a[2] = a[0];
        a[3] = a[1];
        w = new_workload("key store (floor: the bare system calls, from C)", "", 0);
        snprintf(w->name, sizeof w->name, "exists");
        add(w, "codomyrmex_key_manager_exists", run_ours_exists, &a[2], NULL);
        add(w, "floor: fstatat", run_floor_exists, &a[3], NULL);
        measure(w);

        /* key_manager_hmac */
        a[4] = a[0];
        a[5] = a[1];
        {
            uint8_t mac1[64], mac2[64];
            size_t l1, l2;
            ours(codomyrmex_key_manager_hmac(km, GET_ID, CODOMYRMEX_SHA256, msg, 32, mac1,
                                             sizeof mac1, &l1),
                 "codomyrmex_key_manager_hmac");
            ours(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, sizeof key, msg, 32, mac2,
                                         sizeof mac2, &l2),
                 "codomyrmex_hmac_compute");
            expect_same("key_manager_hmac", OURS, mac2, mac1, l1);
            HMAC(EVP_sha256(), key, (int)sizeof key, msg, 32, mac2, NULL);
            expect_same("key_manager_hmac", ONESHOT, mac1, mac2, l1);
        }
        w = new_workload("key store (floor: the bare system calls, from C)", "SHA256", 32);
        snprintf(w->name, sizeof w->name, "key_manager_hmac SHA256 32 B");
        add(w, "codomyrmex_key_manager_hmac", run_ours_km_hmac, &a[4], NULL);
        add(w, "floor: get syscalls + codomyrmex_hmac_compute", run_floor_km_hmac, &a[5], NULL);
        measure(w);

        /* keyrings: the key loaded once, beside OpenSSL with the key kept
         * (the fair peer), the call by id and the key set every call */
        {
            kr_arg_t *kr = calloc(3, sizeof *kr);
            mac_arg_t *peer = calloc(3, sizeof *peer);
            uint8_t got[64];
            size_t got_len;
            int k;

            if (kr == NULL || peer == NULL) {
                die("out of memory");
            }
            for (k = 0; k < 3; k++) {
                kr[k].msg = msg;
                kr[k].len = 32;
                peer[k].alg = CODOMYRMEX_SHA256;
                peer[k].md = EVP_sha256();
                peer[k].dlen = 32;
                peer[k].key = key;
                peer[k].key_len = sizeof key;
                peer[k].msg = msg;
                peer[k].len = 32;
                peer[k].mctx = new_mac_ctx("SHA256");
                evp_mac_once(&peer[k], peer[k].expected);
            }
            ours(codomyrmex_key_manager_load(km, GET_ID, CODOMYRMEX_SHA256, 0, &kr[0].kr),
                 "codomyrmex_key_manager_load");
            ours(codomyrmex_key_manager_load(km, GET_ID, CODOMYRMEX_SHA256, 100, &kr[1].kr),
                 "codomyrmex_key_manager_load");
            kr[2] = kr[1];
            memcpy(kr[2].expected, peer[0].expected, 32);
            kr[2].expected_len = 32;
            ours(codomyrmex_keyring_hmac(kr[1].kr, msg, 32, got, sizeof got, &got_len),
                 "codomyrmex_keyring_hmac");
            expect_same("keyring", OURS, peer[0].expected, got, 32);
            evp_mac_kept_once(&peer[1], got);
            expect_same("keyring", EVP_KEPT, peer[0].expected, got, 32);

            w = new_workload("keyrings (the key loaded once)", "SHA256", 32);
            snprintf(w->name, sizeof w->name, "keyring HMAC-SHA256 32 B");
            add(w, "codomyrmex_keyring_hmac, refresh_ms 100", run_keyring_hmac, &kr[1], NULL);
            add(w, "codomyrmex_keyring_hmac, refresh_ms 0", run_keyring_hmac, &kr[0], NULL);
            add(w, EVP_KEPT, run_evp_mac_kept, &peer[1], NULL);
            add(w, "codomyrmex_key_manager_hmac (by id)", run_ours_km_hmac, &a[4], NULL);
            add(w, "codomyrmex_hmac_compute (key set every call)", run_ours_hmac, &peer[0], NULL);
            measure(w);

            w = new_workload("keyrings (the key loaded once)", "SHA256", 32);
            snprintf(w->name, sizeof w->name, "keyring verify SHA256 32 B");
            add(w, "codomyrmex_keyring_hmac_verify, refresh_ms 100", run_keyring_verify, &kr[2],
                NULL);
            add(w, "OpenSSL EVP_MAC key kept + CRYPTO_memcmp", run_evp_kept_verify, &peer[2], NULL);
            measure(w);
        }

        /* list */
        for (i = 0; i < 2; i++) {
            ks_arg_t *o = &a[6 + 2 * i], *f = &a[7 + 2 * i];
            size_t n = i ? 10000 : 1000;
            o->km = i ? km_10k : km_1k;
            o->dirfd = i ? list10k_fd : list1k_fd;
            *f = *o;
            check_list(o, n);
            w = new_workload("key store (floor: the bare system calls, from C)", "", 0);
            snprintf(w->name, sizeof w->name, "list %zu keys", n);
            add(w, "codomyrmex_key_manager_list", run_ours_list, o, NULL);
            add(w, "floor: open dir+getdents64 (same buffer)+close", run_floor_list, f, NULL);
            measure(w);
        }

        /* durable store of a new key */
        a[10].km = km_new;
        a[10].dirfd = store_new_fd;
        a[11].dirfd = floor_new_fd;
        w = new_workload("durable writes (floor: the bare system calls, from C)", "", 0);
        w->sample_s = g.sample_s * 10;
        w->min_iters = 10;
        snprintf(w->name, sizeof w->name, "store, new key");
        add(w, "codomyrmex_key_manager_store", run_ours_store_new, &a[10], before_store_new);
        add(w, "floor: O_EXCL tmp+write+fdatasync+rename+fsync(dir)", run_floor_store_new,
            &a[11], before_store_new);
        if (measure(w)) {
            uint8_t got[64];
            char id[32];
            snprintf(id, sizeof id, "n%llu", (unsigned long long)a[10].counter);
            ours(codomyrmex_key_manager_get(km_new, id, got, sizeof got, &len), "get");
            expect_same("store, new key", OURS, a[10].key, got, sizeof a[10].key);
        }

        /* durable store over an existing key, and rotate */
        a[12].km = km_over;
        a[12].id = "over";
        a[12].dirfd = over_fd;
        a[13].dirfd = floor_over_fd;
        a[13].vdirfd = floor_vfd;
        snprintf(a[13].file, sizeof a[13].file, "over.key");
        a[14].dirfd = floor_overwrite_fd;
        snprintf(a[14].file, sizeof a[14].file, "over.key");
        a[15].dirfd = plain_fd;
        snprintf(a[15].file, sizeof a[15].file, "over.key");
        w = new_workload("durable writes (floor: the bare system calls, from C)", "", 0);
        w->sample_s = g.sample_s * 10;
        w->min_iters = 10;
        snprintf(w->name, sizeof w->name, "store over an existing key");
        w->note = "with versions, the previous key is recorded first: two durable writes";
        add(w, "codomyrmex_key_manager_store", run_ours_store_over, &a[12],
            before_ours_versioned);
        add(w, "floor: read key + 2 durable writes", run_floor_versioned, &a[13],
            before_floor_versioned);
        add(w, "floor without versions: 1 durable write", run_floor_overwrite, &a[14], NULL);
        add(w, "no flush: open O_TRUNC+write+close", run_plain_overwrite, &a[15], NULL);
        if (measure(w)) {
            uint8_t got[64];
            ours(codomyrmex_key_manager_get(km_over, "over", got, sizeof got, &len), "get");
            expect_same("store over", OURS, a[12].key, got, sizeof a[12].key);
        }

        a[16] = a[12];
        a[16].id = "rot";
        a[17] = a[13];
        w = new_workload("durable writes (floor: the bare system calls, from C)", "", 0);
        w->sample_s = g.sample_s * 10;
        w->min_iters = 10;
        snprintf(w->name, sizeof w->name, "rotate");
        w->note = "records the previous version, then replaces the key: two durable writes";
        add(w, "codomyrmex_key_manager_rotate", run_ours_rotate, &a[16], before_ours_versioned);
        add(w, "floor: read key + 2 durable writes", run_floor_versioned, &a[17],
            before_floor_versioned);
        if (measure(w)) {
            uint8_t got[64], prev[32];
            size_t old_len;
            memcpy(prev, a[16].key, sizeof prev);
            next_key(&a[16]);
            ours(codomyrmex_key_manager_rotate(km_over, "rot", a[16].key, sizeof a[16].key, got,
                                               sizeof got, &old_len),
                 "rotate");
            expect_same("rotate", OURS, prev, got, sizeof prev);
        }

        codomyrmex_key_manager_free(km);
        codomyrmex_key_manager_free(km_new);
        codomyrmex_key_manager_free(km_over);
        codomyrmex_key_manager_free(km_1k);
        codomyrmex_key_manager_free(km_10k);
        close(floor_vfd);
        close(keys_fd);
        close(store_new_fd);
        close(floor_new_fd);
        close(over_fd);
        close(floor_over_fd);
        close(floor_overwrite_fd);
        close(plain_fd);
        close(list1k_fd);
        close(list10k_fd);
        for (i = 0; i < (int)(sizeof SUBDIRS / sizeof *SUBDIRS); i++) {
            remove_tree(rootfd, SUBDIRS[i]);
        }
    }

    /* ----------------------------- targets ------------------------------ */
    printf("\n== targets (median of per-repetition ratios ours/peer) ==\n");
    check_target("HMAC-SHA256 64 KiB", EVP, 1.00, &met, &total);
    check_target("HMAC-SHA256 64 KiB", ONESHOT, 1.00, &met, &total);
    check_target("HMAC-SHA256 1 MiB", EVP, 1.00, &met, &total);
    check_target("HMAC-SHA256 1 MiB", ONESHOT, 1.00, &met, &total);
    check_target("HMAC-SHA256 32 B", EVP, 0.55, &met, &total);
    check_target("HMAC-SHA256 32 B", SODIUM, 0.30, &met, &total);
    check_target("HMAC-SHA384 1 MiB", EVP, 1.00, &met, &total);
    check_target("HMAC-SHA384 1 MiB", ONESHOT, 1.00, &met, &total);
    check_target("HMAC-SHA512 1 MiB", EVP, 1.00, &met, &total);
    check_target("HMAC-SHA512 1 MiB", ONESHOT, 1.00, &met, &total);
    check_target("HKDF-SHA256 32 B out", "OpenSSL EVP_KDF HKDF (ctx reused)", 0.25, &met,
                 &total);
    check_target("keyring HMAC-SHA256 32 B", EVP_KEPT, 0.60, &met, &total);
    check_target("keyring HMAC-SHA256 32 B", "codomyrmex_keyring_hmac, refresh_ms 0", 1.05, &met,
                 &total);
    check_target("keyring verify SHA256 32 B", "OpenSSL EVP_MAC key kept + CRYPTO_memcmp", 0.60,
                 &met, &total);
    check_target("get (32-byte key)", "floor: openat+fstat+read+close", 1.5, &met, &total);
    check_target("list 1000 keys", "floor: open dir+getdents64 (same buffer)+close", 1.0, &met,
                 &total);
    check_target("list 10000 keys", "floor: open dir+getdents64 (same buffer)+close", 1.0, &met,
                 &total);
    check_target("store, new key", "floor: O_EXCL tmp+write+fdatasync+rename+fsync(dir)", 1.1,
                 &met, &total);
    check_target("store over an existing key", "floor: read key + 2 durable writes", 1.1, &met,
                 &total);
    check_target("rotate", "floor: read key + 2 durable writes", 1.1, &met, &total);
    printf("%d of %d targets met\n", met, total);
    printf("results: %s\n", csv_path);

    fclose(g.csv);
    free(msg);
    EVP_MAC_free(g_mac);
    EVP_KDF_free(g_kdf);
    close(rootfd);
    return 0;
}
