/*
 * The key manager: codomyrmex_key_manager_* and the on-disk layout.
 *
 * Every test works in its own fresh directory under one mkdtemp directory,
 * removed at the end. The tests run as root in CI; they never rely on
 * permission bits refusing access (root ignores them) and use chown to
 * uid 65534 for ownership checks, which they skip when not root.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"

/* The directory all tests of this run live under. */
static char base[TEST_PATH_MAX];

static const codomyrmex_hash_alg ALGS[3] = {CODOMYRMEX_SHA256, CODOMYRMEX_SHA384,
                                            CODOMYRMEX_SHA512};

/* A distinctive key: if it ever shows up in an error message, the message
 * leaks key material. */
static const char SECRET_TEXT[] = "SuperSecretKeyMaterial-0123456789";

static int marker;
#define SENTINEL_KM ((codomyrmex_key_manager *)(void *)&marker)

/* ---------------------------------------------------------------------------
 * Helpers
 */

/* A fresh (not yet existing) key directory path under `base`: base/<name>. */
static void fresh_dir(char out[TEST_PATH_MAX], const char *name)
{
    path_join(out, base, name);
}

static codomyrmex_key_manager *open_dir(const char *dir)
{
    codomyrmex_key_manager *km = NULL;

    if (!CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        fprintf(stderr, "    opening %s\n", dir);
        return NULL;
    }
    return km;
}

static void key_file(char out[TEST_PATH_MAX], const char *dir, const char *key_id)
{
    char name[256];

    snprintf(name, sizeof name, "%s.key", key_id);
    path_join(out, dir, name);
}

/* Reads a whole (small) file; returns its length or -1. */
static long read_file(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    size_t len = 0;

    if (fd < 0) {
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len == cap) {
            break;
        }
    }
    close(fd);
    return (long)len;
}

/* The sorted names in `dir`, joined with '/', into `out`. */
static void snapshot(const char *dir, char *out, size_t cap)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    int i;
    size_t used = 0;

    out[0] = '\0';
    if (n < 0) {
        snprintf(out, cap, "(cannot read %s)", dir);
        return;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
            int w = snprintf(out + used, cap - used, "%s/", names[i]->d_name);

            if (w > 0 && (size_t)w < cap - used) {
                used += (size_t)w;
            }
        }
        free(names[i]);
    }
    free(names);
}

/* True if no temporary file (".*.tmp") is left in `dir`. */
static bool no_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool clean = true;

    if (d == NULL) {
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
            fprintf(stderr, "    leftover temporary file: %s\n", e->d_name);
            clean = false;
        }
    }
    closedir(d);
    return clean;
}

/* The key `key_id` must be exactly `key` (checked through get). */
static void expect_key(const codomyrmex_key_manager *km, const char *key_id,
                       const uint8_t *key, size_t len)
{
    uint8_t *got = malloc(len + 1);
    size_t got_len = 0;

    if (!CHECK(got != NULL)) {
        return;
    }
    if (CHECK_OK(codomyrmex_key_manager_get(km, key_id, got, len + 1, &got_len))) {
        CHECK_SIZE(got_len, len);
        CHECK_BYTES(got, key, len);
    } else {
        fprintf(stderr, "    key id: %s\n", key_id);
    }
    free(got);
}

/* The last error message must not contain the secret test key. */
static void expect_no_secret_in_message(void)
{
    char message[1024];

    codomyrmex_last_error_message(message, sizeof message);
    CHECK(strstr(message, "SuperSecret") == NULL);
    CHECK(strstr(message, "53757065725365637265") == NULL); /* its hex */
}

/* ---------------------------------------------------------------------------
 * Round trip of every operation.
 */
static void test_round_trip(void)
{
    char dir[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    const uint8_t *secret = (const uint8_t *)SECRET_TEXT;
    size_t secret_len = sizeof SECRET_TEXT - 1;
    static const uint8_t beta[] = {0x00, 0x01, 0xFF, 0x00, 0x7F}; /* binary, with NULs */
    uint8_t gamma[48];
    uint8_t gamma_again[48];
    uint8_t buf[128];
    size_t len = 0;
    bool exists = false;
    size_t a;

    check_section("round trip");
    fresh_dir(dir, "roundtrip/nested/keys"); /* missing parents are created */
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }
    CHECK_INT(path_mode(dir), 0700);

    /* store / get / exists */
    CHECK_OK(codomyrmex_key_manager_store(km, "alpha", secret, secret_len));
    expect_key(km, "alpha", secret, secret_len);
    CHECK_OK(codomyrmex_key_manager_exists(km, "alpha", &exists));
    CHECK(exists);
    CHECK_OK(codomyrmex_key_manager_exists(km, "beta", &exists));
    CHECK(!exists);

    /* On disk: <dir>/<id>.key with the raw bytes, mode 0600. */
    key_file(path, dir, "alpha");
    CHECK_INT(path_mode(path), 0600);
    CHECK(read_file(path, buf, sizeof buf) == (long)secret_len);
    CHECK_BYTES(buf, secret, secret_len);

    /* create: only if absent */
    CHECK_OK(codomyrmex_key_manager_create(km, "beta", beta, sizeof beta));
    expect_key(km, "beta", beta, sizeof beta);
    CHECK_STATUS(codomyrmex_key_manager_create(km, "beta", secret, secret_len),
                 CODOMYRMEX_ERR_ALREADY_EXISTS);
    expect_key(km, "beta", beta, sizeof beta);
    CHECK_STATUS(codomyrmex_key_manager_create(km, "alpha", beta, sizeof beta),
                 CODOMYRMEX_ERR_ALREADY_EXISTS);
    expect_key(km, "alpha", secret, secret_len);
    expect_no_secret_in_message();

    /* generate: random, only if absent */
    CHECK_OK(codomyrmex_key_manager_generate(km, "gamma", sizeof gamma));
    CHECK_OK(codomyrmex_key_manager_get(km, "gamma", gamma, sizeof gamma, &len));
    CHECK_SIZE(len, sizeof gamma);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "gamma", sizeof gamma),
                 CODOMYRMEX_ERR_ALREADY_EXISTS);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "alpha", 16),
                 CODOMYRMEX_ERR_ALREADY_EXISTS);
    expect_key(km, "gamma", gamma, sizeof gamma);
    expect_key(km, "alpha", secret, secret_len);
    CHECK_OK(codomyrmex_key_manager_generate(km, "gamma2", sizeof gamma_again));
    CHECK_OK(codomyrmex_key_manager_get(km, "gamma2", gamma_again, sizeof gamma_again, &len));
    CHECK(memcmp(gamma, gamma_again, sizeof gamma) != 0);
    key_file(path, dir, "gamma");
    CHECK_INT(path_mode(path), 0600);

    /* store replaces */
    CHECK_OK(codomyrmex_key_manager_store(km, "beta", secret, 7));
    expect_key(km, "beta", secret, 7);

    /* get: size query and a too-small buffer */
    len = 0;
    CHECK_STATUS(codomyrmex_key_manager_get(km, "alpha", NULL, 0, &len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, secret_len);
    memset(buf, 0xA5, sizeof buf);
    len = 0;
    CHECK_STATUS(codomyrmex_key_manager_get(km, "alpha", buf, secret_len - 1, &len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, secret_len);
    CHECK_FILLED(buf, sizeof buf, 0xA5);
    expect_no_secret_in_message();

    /* hmac / hmac_verify / derive with the stored key equal the plain
     * functions with the same key bytes */
    for (a = 0; a < 3; a++) {
        static const uint8_t msg[] = "message to authenticate";
        static const uint8_t salt[] = "salt";
        static const uint8_t info[] = "info";
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t okm[100];
        uint8_t expected_okm[100];
        size_t mac_len = 0;
        size_t expected_len = 0;
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);

        CHECK_OK(codomyrmex_key_manager_hmac(km, "alpha", ALGS[a], msg, sizeof msg, mac,
                                             sizeof mac, &mac_len));
        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], secret, secret_len, msg, sizeof msg,
                                         expected, sizeof expected, &expected_len));
        CHECK_SIZE(mac_len, digest);
        CHECK_BYTES(mac, expected, digest);
        CHECK_OK(codomyrmex_key_manager_hmac_verify(km, "alpha", ALGS[a], msg, sizeof msg, mac,
                                                    mac_len));
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "alpha", ALGS[a], msg,
                                                        sizeof msg - 1, mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "alpha", ALGS[a], msg, sizeof msg,
                                                        mac, mac_len - 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "beta", ALGS[a], msg, sizeof msg,
                                                        mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        expect_no_secret_in_message();
        mac[0] ^= 1;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "alpha", ALGS[a], msg, sizeof msg,
                                                        mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);

        /* hmac buffer rule */
        memset(mac, 0xA5, sizeof mac);
        mac_len = 0;
        CHECK_STATUS(codomyrmex_key_manager_hmac(km, "alpha", ALGS[a], msg, sizeof msg, mac,
                                                 digest - 1, &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        CHECK_FILLED(mac, sizeof mac, 0xA5);

        CHECK_OK(codomyrmex_key_manager_derive(km, "alpha", ALGS[a], salt, sizeof salt, info,
                                               sizeof info, okm, sizeof okm));
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], secret, secret_len, salt, sizeof salt, info,
                                        sizeof info, expected_okm, sizeof expected_okm));
        CHECK_BYTES(okm, expected_okm, sizeof okm);
        CHECK_OK(codomyrmex_key_manager_derive(km, "alpha", ALGS[a], NULL, 0, NULL, 0, okm,
                                               sizeof okm));
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], secret, secret_len, NULL, 0, NULL, 0,
                                        expected_okm, sizeof expected_okm));
        CHECK_BYTES(okm, expected_okm, sizeof okm);

        /* derive: output length rule, output untouched on error */
        memset(okm, 0xA5, sizeof okm);
        CHECK_STATUS(codomyrmex_key_manager_derive(km, "alpha", ALGS[a], NULL, 0, NULL, 0, okm,
                                                   0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_FILLED(okm, sizeof okm, 0xA5);
    }
    {
        uint8_t *big = malloc(255 * 64 + 1);

        if (CHECK(big != NULL)) {
            memset(big, 0xA5, 255 * 32 + 1);
            CHECK_STATUS(codomyrmex_key_manager_derive(km, "alpha", CODOMYRMEX_SHA256, NULL, 0,
                                                       NULL, 0, big, 255 * 32 + 1),
                         CODOMYRMEX_ERR_INVALID_ARGUMENT);
            CHECK_FILLED(big, 255 * 32 + 1, 0xA5);
            CHECK_OK(codomyrmex_key_manager_derive(km, "alpha", CODOMYRMEX_SHA256, NULL, 0,
                                                   NULL, 0, big, 255 * 32));
            free(big);
        }
    }

    /* unsupported algorithms */
    {
        static const codomyrmex_hash_alg bad[] = {0, 4, 99};
        size_t i;

        for (i = 0; i < 3; i++) {
            uint8_t out[64];
            size_t out_len = 0;

            CHECK_STATUS(codomyrmex_key_manager_hmac(km, "alpha", bad[i], NULL, 0, out,
                                                     sizeof out, &out_len),
                         CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
            CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "alpha", bad[i], NULL, 0, out,
                                                            32),
                         CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
            CHECK_STATUS(codomyrmex_key_manager_derive(km, "alpha", bad[i], NULL, 0, NULL, 0,
                                                       out, sizeof out),
                         CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        }
    }

    /* delete */
    CHECK_OK(codomyrmex_key_manager_delete(km, "beta"));
    CHECK_OK(codomyrmex_key_manager_exists(km, "beta", &exists));
    CHECK(!exists);
    key_file(path, dir, "beta");
    CHECK(!path_exists(path));
    CHECK_STATUS(codomyrmex_key_manager_delete(km, "beta"), CODOMYRMEX_ERR_NOT_FOUND);
    {
        char message[512];

        codomyrmex_last_error_message(message, sizeof message);
        CHECK(strstr(message, "beta") != NULL); /* names the key id */
    }

    /* missing keys */
    {
        uint8_t out[64];
        size_t out_len = 4242;

        memset(out, 0xA5, sizeof out);
        CHECK_STATUS(codomyrmex_key_manager_get(km, "beta", out, sizeof out, &out_len),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_STATUS(codomyrmex_key_manager_hmac(km, "beta", CODOMYRMEX_SHA256, NULL, 0, out,
                                                 sizeof out, &out_len),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "beta", CODOMYRMEX_SHA256, NULL, 0,
                                                        out, 32),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_STATUS(codomyrmex_key_manager_derive(km, "beta", CODOMYRMEX_SHA256, NULL, 0,
                                                   NULL, 0, out, sizeof out),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_SIZE(out_len, 4242);
        CHECK_FILLED(out, sizeof out, 0xA5);
    }

    /* A key file written by someone else in the same layout is read. */
    {
        static const uint8_t legacy[] = "written by the original module";

        key_file(path, dir, "legacy");
        CHECK(write_file(path, legacy, sizeof legacy, 0600));
        expect_key(km, "legacy", legacy, sizeof legacy);
    }

    /* The longest id and the largest key. */
    {
        char long_id[CODOMYRMEX_MAX_KEY_ID_LEN + 1];
        uint8_t *big = malloc(CODOMYRMEX_MAX_KEY_LEN);
        uint64_t rng = 7;

        memset(long_id, 'k', CODOMYRMEX_MAX_KEY_ID_LEN);
        long_id[CODOMYRMEX_MAX_KEY_ID_LEN] = '\0';
        if (CHECK(big != NULL)) {
            test_rand_fill(&rng, big, CODOMYRMEX_MAX_KEY_LEN);
            CHECK_OK(codomyrmex_key_manager_store(km, long_id, big, CODOMYRMEX_MAX_KEY_LEN));
            expect_key(km, long_id, big, CODOMYRMEX_MAX_KEY_LEN);
            CHECK_OK(codomyrmex_key_manager_delete(km, long_id));
            free(big);
        }
        /* Ids may start with '-' or '_' and contain dots after the first byte. */
        CHECK_OK(codomyrmex_key_manager_store(km, "-dash", secret, 1));
        CHECK_OK(codomyrmex_key_manager_store(km, "_under", secret, 1));
        CHECK_OK(codomyrmex_key_manager_store(km, "x..y", secret, 1));
        CHECK_OK(codomyrmex_key_manager_delete(km, "-dash"));
        CHECK_OK(codomyrmex_key_manager_delete(km, "_under"));
        CHECK_OK(codomyrmex_key_manager_delete(km, "x..y"));
    }
    CHECK(no_temp_files(dir));

    /* Another handle on the same directory sees the same keys. */
    codomyrmex_key_manager_free(km);
    km = open_dir(dir);
    if (km != NULL) {
        expect_key(km, "alpha", secret, secret_len);
        expect_key(km, "gamma", gamma, sizeof gamma);
        codomyrmex_key_manager_free(km);
    }
    codomyrmex_key_manager_free(NULL);
}

/* ---------------------------------------------------------------------------
 * Rotation.
 */
static void test_rotate(void)
{
    char dir[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    char before[4096];
    char after[4096];
    codomyrmex_key_manager *km;
    static const uint8_t k1[] = "first key";
    static const uint8_t k2[] = "the second key, longer";
    static const uint8_t k3[] = "third";
    uint8_t old[64];
    uint8_t file[64];
    size_t old_len;

    check_section("rotate");
    fresh_dir(dir, "rotate");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }

    /* No previous key: *old_len == 0, the new key is stored all the same. */
    memset(old, 0xA5, sizeof old);
    old_len = 999;
    CHECK_OK(codomyrmex_key_manager_rotate(km, "r", k1, sizeof k1, old, sizeof old, &old_len));
    CHECK_SIZE(old_len, 0);
    CHECK_FILLED(old, sizeof old, 0xA5);
    expect_key(km, "r", k1, sizeof k1);
    key_file(path, dir, "r");
    CHECK_INT(path_mode(path), 0600);
    /* ... also with no buffer at all */
    old_len = 999;
    CHECK_OK(codomyrmex_key_manager_rotate(km, "r0", k1, sizeof k1, NULL, 0, &old_len));
    CHECK_SIZE(old_len, 0);
    expect_key(km, "r0", k1, sizeof k1);

    /* The previous key comes back. */
    CHECK_OK(codomyrmex_key_manager_rotate(km, "r", k2, sizeof k2, old, sizeof old, &old_len));
    CHECK_SIZE(old_len, sizeof k1);
    CHECK_BYTES(old, k1, sizeof k1);
    expect_key(km, "r", k2, sizeof k2);

    /* Too small for the previous key: BUFFER_TOO_SMALL, *old_len set, the
     * buffer and the disk unchanged. */
    snapshot(dir, before, sizeof before);
    memset(old, 0xA5, sizeof old);
    old_len = 999;
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", k3, sizeof k3, old, sizeof k2 - 1,
                                               &old_len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(old_len, sizeof k2);
    CHECK_FILLED(old, sizeof old, 0xA5);
    old_len = 999;
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", k3, sizeof k3, NULL, 0, &old_len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(old_len, sizeof k2);
    expect_key(km, "r", k2, sizeof k2);
    CHECK(read_file(path, file, sizeof file) == (long)sizeof k2);
    CHECK_BYTES(file, k2, sizeof k2);
    snapshot(dir, after, sizeof after);
    CHECK_STR(after, before);

    /* Bad new keys change nothing. */
    old_len = 999;
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", NULL, 0, old, sizeof old, &old_len),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", k3, 0, old, sizeof old, &old_len),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", NULL, 5, old, sizeof old, &old_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", k3, sizeof k3, old, sizeof old, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "r", k3, sizeof k3, NULL, sizeof old,
                                               &old_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(old_len, 999);
    expect_key(km, "r", k2, sizeof k2);
    snapshot(dir, after, sizeof after);
    CHECK_STR(after, before);

    CHECK(no_temp_files(dir));
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * Concurrency: rotations from many threads and many processes form one
 * unbroken chain (each returns the key the previous one stored, none is
 * lost), and readers never see a mix of two keys or an empty one.
 *
 * Set CODOMYRMEX_TEST_SKIP_THREADS=1 to skip the threaded parts under
 * valgrind, which deadlocks when a thread blocks in fcntl(F_OFD_SETLKW).
 */
struct rotation {
    uint8_t old_key[8];
    size_t old_len;
    uint8_t new_key[8];
};

/* The 8-byte key rotation `i` of worker `worker` stores. */
static void worker_key(uint8_t key[8], char kind, int worker, int i)
{
    key[0] = (uint8_t)kind;
    key[1] = (uint8_t)worker;
    key[2] = (uint8_t)i;
    memcpy(key + 3, "-rot", 4);
    key[7] = 0;
}

/* Checks that `log` (n rotations of `key_id`, which started as `initial`)
 * is one chain that ends at the key now stored. */
static void check_chain(const codomyrmex_key_manager *km, const char *key_id,
                        const uint8_t initial[8], const struct rotation *log, size_t n)
{
    uint8_t current[8];
    uint8_t stored[16];
    size_t stored_len = 0;
    size_t steps = 0;

    memcpy(current, initial, sizeof current);
    for (;;) {
        size_t found = 0;
        size_t i;
        const struct rotation *next = NULL;

        for (i = 0; i < n; i++) {
            if (log[i].old_len == sizeof current &&
                memcmp(log[i].old_key, current, sizeof current) == 0) {
                found++;
                next = &log[i];
            }
        }
        if (found == 0) {
            break;
        }
        if (!CHECK_SIZE(found, 1) || steps > n) {
            break;
        }
        memcpy(current, next->new_key, sizeof current);
        steps++;
    }
    CHECK_SIZE(steps, n);
    CHECK_OK(codomyrmex_key_manager_get(km, key_id, stored, sizeof stored, &stored_len));
    CHECK_SIZE(stored_len, sizeof current);
    CHECK_BYTES(stored, current, sizeof current);
}

struct rotator {
    const codomyrmex_key_manager *km;
    int worker;
    int count;
    struct rotation *log;
    int failures;
};

static void *rotate_thread(void *arg)
{
    struct rotator *r = arg;
    int i;

    for (i = 0; i < r->count; i++) {
        struct rotation *entry = &r->log[i];

        worker_key(entry->new_key, 'T', r->worker, i);
        if (codomyrmex_key_manager_rotate(r->km, "chain", entry->new_key, sizeof entry->new_key,
                                          entry->old_key, sizeof entry->old_key,
                                          &entry->old_len) != CODOMYRMEX_OK) {
            r->failures++;
        }
    }
    return NULL;
}

/* Two keys of different lengths that a writer alternates between. */
static const uint8_t KEY_A[10] = "AAAAAAAAA";
static const uint8_t KEY_B[40] = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

struct reader {
    const codomyrmex_key_manager *km;
    volatile int *stop;
    long reads;
    long bad;
};

static void *read_thread(void *arg)
{
    struct reader *r = arg;

    while (!*r->stop) {
        uint8_t got[64];
        size_t len = 0;
        codomyrmex_status status =
            codomyrmex_key_manager_get(r->km, "flip", got, sizeof got, &len);

        r->reads++;
        if (status != CODOMYRMEX_OK ||
            !((len == sizeof KEY_A && memcmp(got, KEY_A, len) == 0) ||
              (len == sizeof KEY_B && memcmp(got, KEY_B, len) == 0))) {
            r->bad++;
        }
    }
    return NULL;
}

static void test_concurrency(void)
{
    enum { THREADS = 4, EACH = 20, PROCS = 3, PER_PROC = 10, FLIPS = 60 };
    static const uint8_t initial[8] = "init-00";
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km;

    check_section("concurrency");
    if (getenv("CODOMYRMEX_TEST_SKIP_THREADS") != NULL) {
        printf("note: CODOMYRMEX_TEST_SKIP_THREADS is set, skipping the concurrency tests\n");
        return;
    }
    fresh_dir(dir, "concurrency");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }

    /* Threads sharing one handle. */
    {
        static struct rotation log[THREADS * EACH];
        struct rotator rotators[THREADS];
        pthread_t threads[THREADS];
        int t;

        check_section("concurrency: rotations from threads");
        memset(log, 0, sizeof log);
        CHECK_OK(codomyrmex_key_manager_store(km, "chain", initial, sizeof initial));
        for (t = 0; t < THREADS; t++) {
            rotators[t].km = km;
            rotators[t].worker = t;
            rotators[t].count = EACH;
            rotators[t].log = &log[t * EACH];
            rotators[t].failures = 0;
            CHECK(pthread_create(&threads[t], NULL, rotate_thread, &rotators[t]) == 0);
        }
        for (t = 0; t < THREADS; t++) {
            CHECK(pthread_join(threads[t], NULL) == 0);
            CHECK_SIZE(rotators[t].failures, 0);
        }
        check_chain(km, "chain", initial, log, THREADS * EACH);
    }

    /* Processes, each with its own handle, report through a pipe. */
    {
        static struct rotation log[PROCS * PER_PROC];
        size_t received = 0;
        int fds[2];
        int p;

        check_section("concurrency: rotations from processes");
        CHECK_OK(codomyrmex_key_manager_store(km, "pchain", initial, sizeof initial));
        if (!CHECK(pipe(fds) == 0)) {
            codomyrmex_key_manager_free(km);
            return;
        }
        fflush(stdout);
        fflush(stderr);
        for (p = 0; p < PROCS; p++) {
            pid_t pid = fork();

            if (pid == 0) {
                codomyrmex_key_manager *own = NULL;
                int i;
                int failed = 0;

                close(fds[0]);
                if (codomyrmex_key_manager_open(dir, &own) != CODOMYRMEX_OK) {
                    _exit(3);
                }
                for (i = 0; i < PER_PROC; i++) {
                    struct rotation entry;

                    memset(&entry, 0, sizeof entry);
                    worker_key(entry.new_key, 'P', p, i);
                    if (codomyrmex_key_manager_rotate(own, "pchain", entry.new_key,
                                                      sizeof entry.new_key, entry.old_key,
                                                      sizeof entry.old_key,
                                                      &entry.old_len) != CODOMYRMEX_OK) {
                        failed = 1;
                    }
                    /* One record per write: atomic on a pipe. */
                    if (write(fds[1], &entry, sizeof entry) != (ssize_t)sizeof entry) {
                        failed = 1;
                    }
                }
                codomyrmex_key_manager_free(own);
                _exit(failed);
            }
            CHECK(pid > 0);
        }
        close(fds[1]);
        for (;;) {
            struct rotation entry;
            ssize_t n = read(fds[0], &entry, sizeof entry);

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n != (ssize_t)sizeof entry) {
                CHECK(n == 0);
                break;
            }
            if (received < PROCS * PER_PROC) {
                log[received] = entry;
            }
            received++;
        }
        close(fds[0]);
        for (p = 0; p < PROCS; p++) {
            int status = 0;

            CHECK(wait(&status) > 0);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        CHECK_SIZE(received, PROCS * PER_PROC);
        if (received == PROCS * PER_PROC) {
            check_chain(km, "pchain", initial, log, received);
        }
    }

    /* Readers during replacement see the old key or the new one, whole. */
    {
        volatile int stop = 0;
        struct reader readers[2];
        pthread_t threads[2];
        int r;
        int i;

        check_section("concurrency: readers during writes");
        CHECK_OK(codomyrmex_key_manager_store(km, "flip", KEY_A, sizeof KEY_A));
        for (r = 0; r < 2; r++) {
            readers[r].km = km;
            readers[r].stop = &stop;
            readers[r].reads = 0;
            readers[r].bad = 0;
            CHECK(pthread_create(&threads[r], NULL, read_thread, &readers[r]) == 0);
        }
        for (i = 0; i < FLIPS; i++) {
            if (i % 2 == 0) {
                CHECK_OK(codomyrmex_key_manager_store(km, "flip", KEY_B, sizeof KEY_B));
            } else {
                CHECK_OK(codomyrmex_key_manager_store(km, "flip", KEY_A, sizeof KEY_A));
            }
        }
        stop = 1;
        for (r = 0; r < 2; r++) {
            CHECK(pthread_join(threads[r], NULL) == 0);
            CHECK(readers[r].reads > 0);
            CHECK_SIZE(readers[r].bad, 0);
        }
    }
    CHECK(no_temp_files(dir));
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * The directory is opened once: renaming or replacing its path later does
 * not redirect the handle. Paths need not be UTF-8.
 */
static void test_dir_identity(void)
{
    static const uint8_t key[] = "identity key";
    char first[TEST_PATH_MAX];
    char moved[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    codomyrmex_key_manager *km;

    check_section("the directory is opened once");
    fresh_dir(first, "ident-first");
    fresh_dir(moved, "ident-moved");
    km = open_dir(first);
    if (km == NULL) {
        return;
    }
    CHECK(rename(first, moved) == 0);
    CHECK_OK(codomyrmex_key_manager_store(km, "k", key, sizeof key));
    key_file(path, moved, "k");
    CHECK(path_exists(path));
    /* A new directory at the old path is not used either. */
    CHECK(mkdir(first, 0700) == 0);
    CHECK_OK(codomyrmex_key_manager_store(km, "k2", key, sizeof key));
    key_file(path, moved, "k2");
    CHECK(path_exists(path));
    CHECK(count_entries(first) == 0);
    expect_key(km, "k", key, sizeof key);
    codomyrmex_key_manager_free(km);

    check_section("a key directory whose path is not UTF-8");
    {
        char odd[TEST_PATH_MAX];
        char resolved[TEST_PATH_MAX];
        char reported[TEST_PATH_MAX];
        size_t len = 0;

        fresh_dir(odd, "n\xe9-\xff-dir"); /* Latin-1 and a stray byte */
        km = open_dir(odd);
        if (km != NULL) {
            CHECK(realpath(odd, resolved) != NULL);
            CHECK_OK(codomyrmex_key_manager_dir(km, reported, sizeof reported, &len));
            CHECK_SIZE(len, strlen(resolved) + 1);
            CHECK_STR(reported, resolved);
            CHECK_OK(codomyrmex_key_manager_store(km, "k", key, sizeof key));
            expect_key(km, "k", key, sizeof key);
            key_file(path, odd, "k");
            CHECK(path_exists(path));
            codomyrmex_key_manager_free(km);
        }
    }
}

/* ---------------------------------------------------------------------------
 * A large directory is listed completely (many directory-read batches).
 */
static void test_large_list(void)
{
    enum { KEYS = 1000 };
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    char *buf;
    size_t cap = (size_t)KEYS * 128;
    size_t len = 0;
    size_t count = 0;
    int i;

    check_section("list: a large directory");
    fresh_dir(dir, "large");
    km = open_dir(dir);
    buf = malloc(cap);
    if (km == NULL || !CHECK(buf != NULL)) {
        codomyrmex_key_manager_free(km);
        free(buf);
        return;
    }
    /* Key files written directly (as another program would): long names
     * make the directory span many getdents batches. */
    for (i = KEYS - 1; i >= 0; i--) {
        char name[128];
        char path[TEST_PATH_MAX];

        snprintf(name, sizeof name, "key-%05d-%s.key", i,
                 "padding-padding-padding-padding-padding-padding-padding-padding-padding");
        path_join(path, dir, name);
        if (!CHECK(write_file(path, "k", 1, 0600))) {
            break;
        }
    }
    if (CHECK_OK(codomyrmex_key_manager_list(km, buf, cap, &len, &count))) {
        const char *at = buf;

        CHECK_SIZE(count, KEYS);
        for (i = 0; i < KEYS && at < buf + len; i++) {
            char expected[128];

            snprintf(expected, sizeof expected, "key-%05d-%s", i,
                     "padding-padding-padding-padding-padding-padding-padding-padding-padding");
            if (!CHECK_STR(at, expected)) {
                break;
            }
            at += strlen(at) + 1;
        }
        CHECK(at == buf + len);
    }
    free(buf);
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * list: sorted, NUL-separated, only <valid id>.key regular files.
 */
static void test_list(void)
{
    static const char *const ids[] = {"b", "a", "A", "a-1", "a.b", "Z9_x"};
    static const char expected[] = "A\0Z9_x\0a\0a-1\0a.b\0b"; /* + final NUL */
    const size_t expected_len = sizeof expected; /* counts every NUL */
    char dir[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    char target[TEST_PATH_MAX];
    char buf[256];
    codomyrmex_key_manager *km;
    size_t len;
    size_t count;
    size_t i;
    bool exists = false;

    check_section("list");
    fresh_dir(dir, "list");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }

    /* Empty directory: nothing, even with no buffer. */
    len = 999;
    count = 999;
    CHECK_OK(codomyrmex_key_manager_list(km, NULL, 0, &len, &count));
    CHECK_SIZE(len, 0);
    CHECK_SIZE(count, 0);

    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        CHECK_OK(codomyrmex_key_manager_store(km, ids[i], (const uint8_t *)ids[i],
                                              strlen(ids[i])));
    }
    /* Entries that are not keys. */
    path_join(path, dir, "x.txt");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, ".hidden.key");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, ".a.key.tmp");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, "bad id.key");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, ".key");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, "UPPER.KEY");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, "a.key.bak");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, "noext");
    CHECK(write_file(path, "x", 1, 0600));
    path_join(path, dir, "d.key");
    CHECK(mkdir(path, 0700) == 0);
    path_join(path, dir, "link.key");
    key_file(target, dir, "a");
    CHECK(symlink(target, path) == 0);
    path_join(path, dir, "fifo.key");
    CHECK(mkfifo(path, 0600) == 0);

    /* Size query: BUFFER_TOO_SMALL with the size; out_count untouched. */
    len = 0;
    count = 999;
    CHECK_STATUS(codomyrmex_key_manager_list(km, NULL, 0, &len, &count),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, expected_len);
    CHECK_SIZE(count, 999);

    /* One byte short: nothing written. */
    memset(buf, 0xA5, sizeof buf);
    len = 0;
    CHECK_STATUS(codomyrmex_key_manager_list(km, buf, expected_len - 1, &len, &count),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, expected_len);
    CHECK_SIZE(count, 999);
    CHECK_FILLED(buf, sizeof buf, 0xA5);

    /* Exactly enough, and more than enough. */
    CHECK_OK(codomyrmex_key_manager_list(km, buf, expected_len, &len, &count));
    CHECK_SIZE(len, expected_len);
    CHECK_SIZE(count, sizeof ids / sizeof ids[0]);
    CHECK_BYTES(buf, expected, expected_len);
    memset(buf, 0xA5, sizeof buf);
    CHECK_OK(codomyrmex_key_manager_list(km, buf, sizeof buf, &len, &count));
    CHECK_SIZE(len, expected_len);
    CHECK_SIZE(count, sizeof ids / sizeof ids[0]);
    CHECK_BYTES(buf, expected, expected_len);
    CHECK_FILLED(buf + expected_len, sizeof buf - expected_len, 0xA5);

    /* Required pointers. */
    len = 999;
    count = 999;
    CHECK_STATUS(codomyrmex_key_manager_list(km, buf, sizeof buf, &len, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list(km, buf, sizeof buf, NULL, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list(km, NULL, sizeof buf, &len, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list(NULL, buf, sizeof buf, &len, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, 999);
    CHECK_SIZE(count, 999);

    /* exists agrees with list. */
    CHECK_OK(codomyrmex_key_manager_exists(km, "Z9_x", &exists));
    CHECK(exists);
    CHECK_OK(codomyrmex_key_manager_exists(km, "x", &exists));
    CHECK(!exists);
    CHECK_OK(codomyrmex_key_manager_exists(km, "noext", &exists));
    CHECK(!exists);
    CHECK_OK(codomyrmex_key_manager_exists(km, "UPPER", &exists));
    CHECK(!exists);

    /* After a delete the id is gone from the list. */
    CHECK_OK(codomyrmex_key_manager_delete(km, "a-1"));
    CHECK_OK(codomyrmex_key_manager_list(km, buf, sizeof buf, &len, &count));
    CHECK_SIZE(count, sizeof ids / sizeof ids[0] - 1);
    CHECK_SIZE(len, expected_len - 4);
    CHECK_BYTES(buf, "A\0Z9_x\0a\0a.b\0b", len);
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * codomyrmex_key_manager_dir: the resolved path; *out_len counts the NUL.
 */
static void test_dir_path(void)
{
    char dir[TEST_PATH_MAX];
    char resolved[TEST_PATH_MAX];
    char buf[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    size_t len = 0;
    size_t need;

    check_section("key_manager_dir");
    fresh_dir(dir, "dirpath");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }
    CHECK(realpath(dir, resolved) != NULL);
    need = strlen(resolved) + 1;

    CHECK_STATUS(codomyrmex_key_manager_dir(km, NULL, 0, &len), CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, need);
    memset(buf, 0xA5, sizeof buf);
    len = 0;
    CHECK_STATUS(codomyrmex_key_manager_dir(km, buf, need - 1, &len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(len, need);
    CHECK_FILLED(buf, sizeof buf, 0xA5);
    CHECK_OK(codomyrmex_key_manager_dir(km, buf, need, &len));
    CHECK_SIZE(len, need);
    CHECK_STR(buf, resolved);
    CHECK(buf[need - 1] == '\0');

    len = 999;
    CHECK_STATUS(codomyrmex_key_manager_dir(NULL, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_dir(km, buf, sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_dir(km, NULL, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, 999);
    codomyrmex_key_manager_free(km);

    /* A relative path is reported resolved (absolute). */
    {
        char cwd[TEST_PATH_MAX];

        if (CHECK(getcwd(cwd, sizeof cwd) != NULL) && CHECK(chdir(base) == 0)) {
            km = open_dir("relative-dir");
            if (km != NULL) {
                char expected[TEST_PATH_MAX];
                char real_base[TEST_PATH_MAX];

                CHECK(realpath(base, real_base) != NULL);
                path_join(expected, real_base, "relative-dir");
                CHECK_OK(codomyrmex_key_manager_dir(km, buf, sizeof buf, &len));
                CHECK_STR(buf, expected);
                codomyrmex_key_manager_free(km);
            }
            CHECK(chdir(cwd) == 0);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Modes: directory 0700 and key files 0600 whatever the umask.
 */
static void test_modes(void)
{
    static const mode_t masks[] = {0, 022, 077, 0777};
    static const uint8_t key[] = "mode test key";
    size_t m;
    mode_t saved = umask(022);

    check_section("file modes under any umask");
    for (m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        char dir[TEST_PATH_MAX];
        char name[64];
        char path[TEST_PATH_MAX];
        codomyrmex_key_manager *km;
        uint8_t old[64];
        size_t old_len = 0;

        snprintf(name, sizeof name, "umask%03o", (unsigned)masks[m]);
        fresh_dir(dir, name);
        umask(masks[m]);
        km = open_dir(dir);
        if (km != NULL) {
            if (!CHECK_INT(path_mode(dir), 0700)) {
                fprintf(stderr, "    umask %03o\n", (unsigned)masks[m]);
            }
            CHECK_OK(codomyrmex_key_manager_store(km, "stored", key, sizeof key));
            CHECK_OK(codomyrmex_key_manager_create(km, "created", key, sizeof key));
            CHECK_OK(codomyrmex_key_manager_generate(km, "generated", 32));
            CHECK_OK(codomyrmex_key_manager_rotate(km, "rotated", key, sizeof key, old,
                                                   sizeof old, &old_len));
            CHECK_OK(codomyrmex_key_manager_rotate(km, "stored", key, sizeof key, old,
                                                   sizeof old, &old_len));
            key_file(path, dir, "stored");
            CHECK_INT(path_mode(path), 0600);
            key_file(path, dir, "created");
            CHECK_INT(path_mode(path), 0600);
            key_file(path, dir, "generated");
            CHECK_INT(path_mode(path), 0600);
            key_file(path, dir, "rotated");
            CHECK_INT(path_mode(path), 0600);
            /* The keys read back (so the modes are also acceptable). */
            expect_key(km, "stored", key, sizeof key);
            expect_key(km, "rotated", key, sizeof key);
            codomyrmex_key_manager_free(km);
        }
        umask(saved);
    }
    umask(saved);
}

/* ---------------------------------------------------------------------------
 * Key ids: anything outside the rule is INVALID_KEY_ID, for every
 * function, and nothing is created anywhere.
 */
static void test_invalid_key_ids(void)
{
    char too_long[CODOMYRMEX_MAX_KEY_ID_LEN + 2];
    const char *bad[] = {
        "",      ".",      "..",     "../x",  "../../x", "a/b",     "/abs",    "a\\b",
        " a",    "a ",     "a b",    ".hidden", "a:b",   "a*",      "~a",      "a\tb",
        "a\nb",  "caf\xc3\xa9", "\xff", "a$b",   "a%2fb",   "a;b",     too_long,
    };
    char dir[TEST_PATH_MAX];
    char before[4096];
    char after[4096];
    char base_before[4096];
    char base_after[4096];
    char outside[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    static const uint8_t key[] = "key";
    size_t i;

    check_section("invalid key ids");
    memset(too_long, 'k', CODOMYRMEX_MAX_KEY_ID_LEN + 1);
    too_long[CODOMYRMEX_MAX_KEY_ID_LEN + 1] = '\0';
    fresh_dir(dir, "ids/keys");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }
    snapshot(dir, before, sizeof before);
    path_join(outside, base, "ids");
    snapshot(outside, base_before, sizeof base_before);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *id = bad[i];
        uint8_t out[64];
        size_t out_len = 999;
        bool exists = true;
        unsigned long failures = check_failures();

        CHECK_STATUS(codomyrmex_key_manager_store(km, id, key, sizeof key),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_create(km, id, key, sizeof key),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_generate(km, id, 32),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_get(km, id, out, sizeof out, &out_len),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_exists(km, id, &exists),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_delete(km, id), CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_rotate(km, id, key, sizeof key, out, sizeof out,
                                                   &out_len),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_hmac(km, id, CODOMYRMEX_SHA256, key, sizeof key,
                                                 out, sizeof out, &out_len),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, id, CODOMYRMEX_SHA256, key,
                                                        sizeof key, out, 32),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_STATUS(codomyrmex_key_manager_derive(km, id, CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                                   out, sizeof out),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK_SIZE(out_len, 999);
        CHECK(exists);
        if (check_failures() != failures) {
            fprintf(stderr, "    key id: \"%s\"\n", id);
        }
    }
    /* Nothing appeared in the key directory or next to it. */
    snapshot(dir, after, sizeof after);
    CHECK_STR(after, before);
    snapshot(outside, base_after, sizeof base_after);
    CHECK_STR(base_after, base_before);
    path_join(outside, base, "x.key");
    CHECK(!path_exists(outside));
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * Key lengths: 1 to 65536.
 */
static void test_key_lengths(void)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    uint8_t *key = calloc(1, CODOMYRMEX_MAX_KEY_LEN + 1);
    uint8_t old[16];
    size_t old_len = 999;
    bool exists = true;

    check_section("key lengths");
    fresh_dir(dir, "lengths");
    km = open_dir(dir);
    if (km == NULL || !CHECK(key != NULL)) {
        codomyrmex_key_manager_free(km);
        free(key);
        return;
    }
    CHECK_STATUS(codomyrmex_key_manager_store(km, "k", NULL, 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_store(km, "k", key, 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_store(km, "k", key, CODOMYRMEX_MAX_KEY_LEN + 1),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_create(km, "k", key, 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_create(km, "k", key, CODOMYRMEX_MAX_KEY_LEN + 1),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "k", 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "k", CODOMYRMEX_MAX_KEY_LEN + 1),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "k", SIZE_MAX),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "k", key, 0, old, sizeof old, &old_len),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "k", key, CODOMYRMEX_MAX_KEY_LEN + 1, old,
                                               sizeof old, &old_len),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_SIZE(old_len, 999);
    CHECK_OK(codomyrmex_key_manager_exists(km, "k", &exists));
    CHECK(!exists);

    /* The bounds themselves are fine. */
    CHECK_OK(codomyrmex_key_manager_store(km, "one", key, 1));
    CHECK_OK(codomyrmex_key_manager_store(km, "max", key, CODOMYRMEX_MAX_KEY_LEN));
    CHECK_OK(codomyrmex_key_manager_generate(km, "gen1", 1));
    CHECK_OK(codomyrmex_key_manager_generate(km, "genmax", CODOMYRMEX_MAX_KEY_LEN));
    old_len = 0;
    CHECK_STATUS(codomyrmex_key_manager_get(km, "genmax", NULL, 0, &old_len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(old_len, CODOMYRMEX_MAX_KEY_LEN);
    CHECK(no_temp_files(dir));
    codomyrmex_key_manager_free(km);
    free(key);
}

/* ---------------------------------------------------------------------------
 * Insecure files and directories are refused.
 */
static void test_insecure(void)
{
    static const uint8_t key[] = "a key that must stay private";
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0606, 0666, 0610, 0601};
    char dir[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    char other[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    codomyrmex_key_manager *out = SENTINEL_KM;
    uint8_t buf[64];
    size_t len = 999;
    bool exists = false;
    bool is_root = geteuid() == 0;
    size_t i;

    check_section("insecure key files");
    fresh_dir(dir, "insecure");
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }

    /* Group or other access of any kind. */
    CHECK_OK(codomyrmex_key_manager_store(km, "k", key, sizeof key));
    key_file(path, dir, "k");
    for (i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        unsigned long failures = check_failures();

        CHECK(chmod(path, open_modes[i]) == 0);
        memset(buf, 0xA5, sizeof buf);
        len = 999;
        CHECK_STATUS(codomyrmex_key_manager_get(km, "k", buf, sizeof buf, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK_SIZE(len, 999);
        CHECK_FILLED(buf, sizeof buf, 0xA5);
        CHECK_STATUS(codomyrmex_key_manager_hmac(km, "k", CODOMYRMEX_SHA256, NULL, 0, buf,
                                                 sizeof buf, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK_STATUS(codomyrmex_key_manager_derive(km, "k", CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                                   buf, sizeof buf),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK_STATUS(codomyrmex_key_manager_rotate(km, "k", key, 3, buf, sizeof buf, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK_FILLED(buf, sizeof buf, 0xA5);
        CHECK_INT(path_mode(path), open_modes[i]); /* rotate changed nothing */
        expect_no_secret_in_message();
        if (check_failures() != failures) {
            fprintf(stderr, "    key file mode %04o\n", (unsigned)open_modes[i]);
        }
    }
    {
        char message[1024];

        codomyrmex_last_error_message(message, sizeof message);
        CHECK(strstr(message, "k.key") != NULL); /* names the path */
    }
    /* Owner-only modes other than 0600 are not a leak. */
    CHECK(chmod(path, 0400) == 0);
    expect_key(km, "k", key, sizeof key);
    CHECK(chmod(path, 0600) == 0);
    expect_key(km, "k", key, sizeof key);

    /* A symbolic link as key file, to a private file inside the dir. */
    path_join(other, dir, "target-file");
    CHECK(write_file(other, key, sizeof key, 0600));
    key_file(path, dir, "s");
    CHECK(symlink(other, path) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "s", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK_STATUS(codomyrmex_key_manager_exists(km, "s", &exists),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "s", CODOMYRMEX_SHA256, NULL, 0, buf,
                                                    32),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "s", key, 3, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    /* ... and the file it points to was not touched. */
    CHECK(read_file(other, buf, sizeof buf) == (long)sizeof key);
    CHECK_BYTES(buf, key, sizeof key);

    /* A symbolic link pointing outside the directory. */
    path_join(other, base, "outside-target");
    CHECK(write_file(other, key, sizeof key, 0600));
    key_file(path, dir, "out");
    CHECK(symlink(other, path) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "out", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK(read_file(other, buf, sizeof buf) == (long)sizeof key);
    CHECK_BYTES(buf, key, sizeof key);
    /* A dangling symbolic link. */
    key_file(path, dir, "dangling");
    path_join(other, base, "no-such-file");
    CHECK(symlink(other, path) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "dangling", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK(!path_exists(other));

    /* A second hard link to a key file. */
    CHECK_OK(codomyrmex_key_manager_store(km, "h", key, sizeof key));
    key_file(path, dir, "h");
    path_join(other, base, "hardlink-copy");
    CHECK(link(path, other) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "h", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK(unlink(other) == 0);
    expect_key(km, "h", key, sizeof key);

    /* A key file owned by someone else (root can make one). */
    if (is_root) {
        CHECK_OK(codomyrmex_key_manager_store(km, "owned", key, sizeof key));
        key_file(path, dir, "owned");
        CHECK(chown(path, 65534, (gid_t)-1) == 0);
        CHECK_STATUS(codomyrmex_key_manager_get(km, "owned", buf, sizeof buf, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    } else {
        printf("note: not root, skipping the foreign-owner key file check\n");
    }
    codomyrmex_key_manager_free(km);

    check_section("insecure key directories");
    {
        char real[TEST_PATH_MAX];

        /* A symbolic link as key directory. */
        path_join(real, base, "real-dir");
        CHECK(mkdir(real, 0700) == 0);
        path_join(path, base, "link-dir");
        CHECK(symlink(real, path) == 0);
        out = SENTINEL_KM;
        CHECK_STATUS(codomyrmex_key_manager_open(path, &out),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK(out == SENTINEL_KM);
        /* The real directory itself is fine. */
        km = open_dir(real);
        codomyrmex_key_manager_free(km);
    }
    {
        static const mode_t writable[] = {0777, 0770, 0730, 0707, 0703, 01777, 0720, 0702};
        static const mode_t fine[] = {0700, 0750, 0755, 0711, 0500};

        for (i = 0; i < sizeof writable / sizeof writable[0]; i++) {
            char name[64];

            snprintf(name, sizeof name, "mode%04o", (unsigned)writable[i]);
            path_join(path, base, name);
            CHECK(mkdir(path, 0700) == 0 && chmod(path, writable[i]) == 0);
            out = SENTINEL_KM;
            if (!CHECK_STATUS(codomyrmex_key_manager_open(path, &out),
                              CODOMYRMEX_ERR_INSECURE_PERMISSIONS)) {
                fprintf(stderr, "    directory mode %04o\n", (unsigned)writable[i]);
                codomyrmex_key_manager_free(out == SENTINEL_KM ? NULL : out);
            }
            CHECK(out == SENTINEL_KM);
            CHECK_INT(path_mode(path), writable[i]); /* not "repaired" */
        }
        for (i = 0; i < sizeof fine / sizeof fine[0]; i++) {
            char name[64];

            snprintf(name, sizeof name, "fine%04o", (unsigned)fine[i]);
            path_join(path, base, name);
            CHECK(mkdir(path, 0700) == 0 && chmod(path, fine[i]) == 0);
            km = NULL;
            if (!CHECK_OK(codomyrmex_key_manager_open(path, &km))) {
                fprintf(stderr, "    directory mode %04o\n", (unsigned)fine[i]);
            }
            codomyrmex_key_manager_free(km);
        }
    }
    if (is_root) {
        path_join(path, base, "foreign-dir");
        CHECK(mkdir(path, 0700) == 0);
        CHECK(chown(path, 65534, (gid_t)-1) == 0);
        out = SENTINEL_KM;
        CHECK_STATUS(codomyrmex_key_manager_open(path, &out),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK(out == SENTINEL_KM);
    } else {
        printf("note: not root, skipping the foreign-owner directory check\n");
    }

    /* Not a directory at all, and an empty path. */
    path_join(path, base, "plain-file");
    CHECK(write_file(path, "x", 1, 0600));
    out = SENTINEL_KM;
    CHECK_STATUS(codomyrmex_key_manager_open(path, &out), CODOMYRMEX_ERR_IO);
    CHECK(out == SENTINEL_KM);
    CHECK_STATUS(codomyrmex_key_manager_open("", &out), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(out == SENTINEL_KM);
}

/* ---------------------------------------------------------------------------
 * Unusable key files are CORRUPT; a FIFO never blocks.
 */
static void test_corrupt(void)
{
    char dir[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    uint8_t buf[64];
    size_t len = 999;
    bool exists = false;
    uint8_t *big = calloc(1, CODOMYRMEX_MAX_KEY_LEN + 1);
    static const uint8_t new_key[8] = "new key";

    check_section("corrupt key files");
    fresh_dir(dir, "corrupt");
    km = open_dir(dir);
    if (km == NULL || !CHECK(big != NULL)) {
        codomyrmex_key_manager_free(km);
        free(big);
        return;
    }

    /* Empty. */
    key_file(path, dir, "empty");
    CHECK(write_file(path, NULL, 0, 0600));
    memset(buf, 0xA5, sizeof buf);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "empty", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_FILLED(buf, sizeof buf, 0xA5);
    CHECK_SIZE(len, 999);
    CHECK_STATUS(codomyrmex_key_manager_hmac(km, "empty", CODOMYRMEX_SHA256, NULL, 0, buf,
                                             sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "empty", new_key, sizeof new_key, buf,
                                               sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_OK(codomyrmex_key_manager_exists(km, "empty", &exists)); /* it is a regular file */
    CHECK(exists);

    /* Over the size limit. */
    key_file(path, dir, "huge");
    CHECK(write_file(path, big, CODOMYRMEX_MAX_KEY_LEN + 1, 0600));
    CHECK_STATUS(codomyrmex_key_manager_get(km, "huge", NULL, 0, &len), CODOMYRMEX_ERR_CORRUPT);
    CHECK_SIZE(len, 999);

    /* A FIFO: must be refused at once, not block waiting for a writer
     * (main() arms an alarm that kills the test if anything hangs). */
    key_file(path, dir, "x");
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "x", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_exists(km, "x", &exists), CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_derive(km, "x", CODOMYRMEX_SHA256, NULL, 0, NULL, 0, buf,
                                               sizeof buf),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "x", new_key, sizeof new_key, buf,
                                               sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    /* Even one with a writer-less mode. */
    key_file(path, dir, "fifo0");
    CHECK(mkfifo(path, 0600) == 0 && chmod(path, 0000) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "fifo0", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);

    /* A directory where a key should be. */
    key_file(path, dir, "d");
    CHECK(mkdir(path, 0700) == 0);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "d", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_exists(km, "d", &exists), CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_store(km, "d", new_key, sizeof new_key),
                 CODOMYRMEX_ERR_CORRUPT);
    CHECK_STATUS(codomyrmex_key_manager_delete(km, "d"), CODOMYRMEX_ERR_CORRUPT);
    CHECK(path_exists(path));
    CHECK(no_temp_files(dir));

    /* Nothing of this shows up in the list. */
    {
        char list[64];
        size_t count = 999;

        CHECK_OK(codomyrmex_key_manager_list(km, list, sizeof list, &len, &count));
        CHECK_SIZE(count, 2); /* "empty" and "huge" are regular files */
        CHECK_SIZE(len, sizeof "empty" + sizeof "huge");
        CHECK_BYTES(list, "empty\0huge", len);
    }
    codomyrmex_key_manager_free(km);
    free(big);
}

/* ---------------------------------------------------------------------------
 * NULL handles, ids and out-pointers are NULL_POINTER, never a crash.
 */
static void test_null_pointers(void)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km;
    static const uint8_t key[] = "key";
    uint8_t buf[64];
    size_t len = 999;
    bool exists = true;

    check_section("NULL pointers");
    fresh_dir(dir, "nulls");
    CHECK_STATUS(codomyrmex_key_manager_open(dir, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    km = open_dir(dir);
    if (km == NULL) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "k", key, sizeof key));

    /* NULL handle */
    CHECK_STATUS(codomyrmex_key_manager_store(NULL, "k", key, sizeof key),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_create(NULL, "k2", key, sizeof key),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_generate(NULL, "k2", 16), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get(NULL, "k", buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_exists(NULL, "k", &exists), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_delete(NULL, "k"), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_rotate(NULL, "k", key, sizeof key, buf, sizeof buf,
                                               &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac(NULL, "k", CODOMYRMEX_SHA256, key, sizeof key, buf,
                                             sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify(NULL, "k", CODOMYRMEX_SHA256, key,
                                                    sizeof key, buf, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive(NULL, "k", CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                               buf, sizeof buf),
                 CODOMYRMEX_ERR_NULL_POINTER);

    /* NULL key id */
    CHECK_STATUS(codomyrmex_key_manager_store(km, NULL, key, sizeof key),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_create(km, NULL, key, sizeof key),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_generate(km, NULL, 16), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get(km, NULL, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_exists(km, NULL, &exists), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_delete(km, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, NULL, key, sizeof key, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac(km, NULL, CODOMYRMEX_SHA256, key, sizeof key, buf,
                                             sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, NULL, CODOMYRMEX_SHA256, key,
                                                    sizeof key, buf, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive(km, NULL, CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                               buf, sizeof buf),
                 CODOMYRMEX_ERR_NULL_POINTER);

    /* NULL out-pointers and NULL inputs with a length */
    CHECK_STATUS(codomyrmex_key_manager_get(km, "k", buf, sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get(km, "k", NULL, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_exists(km, "k", NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_store(km, "k", NULL, 5), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_create(km, "new", NULL, 5), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac(km, "k", CODOMYRMEX_SHA256, NULL, 5, buf,
                                             sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac(km, "k", CODOMYRMEX_SHA256, key, sizeof key, buf,
                                             sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "k", CODOMYRMEX_SHA256, NULL, 5, buf,
                                                    32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify(km, "k", CODOMYRMEX_SHA256, key, sizeof key,
                                                    NULL, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive(km, "k", CODOMYRMEX_SHA256, NULL, 5, NULL, 0, buf,
                                               sizeof buf),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive(km, "k", CODOMYRMEX_SHA256, NULL, 0, NULL, 5, buf,
                                               sizeof buf),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive(km, "k", CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                               NULL, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, 999);
    CHECK(exists);
    /* None of it changed the stored key. */
    expect_key(km, "k", key, sizeof key);
    {
        bool new_exists = true;

        CHECK_OK(codomyrmex_key_manager_exists(km, "new", &new_exists));
        CHECK(!new_exists);
    }
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * open(NULL): <first of $TMPDIR, $TEMP, $TMP>/codomyrmex_keys.
 */
static char *saved_env(const char *name)
{
    const char *value = getenv(name);
    char *copy;

    if (value == NULL) {
        return NULL;
    }
    copy = malloc(strlen(value) + 1);
    if (copy != NULL) {
        strcpy(copy, value);
    }
    return copy;
}

static void restore_env(const char *name, char *value)
{
    if (value != NULL) {
        setenv(name, value, 1);
        free(value);
    } else {
        unsetenv(name);
    }
}

/* Opens the default directory and checks it is <tmp>/codomyrmex_keys. */
static void expect_default_dir(const char *tmp)
{
    codomyrmex_key_manager *km = NULL;
    char real_tmp[TEST_PATH_MAX];
    char expected[TEST_PATH_MAX];
    char got[TEST_PATH_MAX];
    char path[TEST_PATH_MAX];
    size_t len = 0;
    static const uint8_t key[] = "default-dir key";

    if (!CHECK_OK(codomyrmex_key_manager_open(NULL, &km))) {
        return;
    }
    if (CHECK(realpath(tmp, real_tmp) != NULL)) {
        path_join(expected, real_tmp, "codomyrmex_keys");
        CHECK_OK(codomyrmex_key_manager_dir(km, got, sizeof got, &len));
        if (!CHECK_STR(got, expected)) {
            fprintf(stderr, "    for temporary directory %s\n", tmp);
        }
        CHECK_INT(path_mode(expected), 0700);
        CHECK_OK(codomyrmex_key_manager_store(km, "in-default-dir", key, sizeof key));
        key_file(path, expected, "in-default-dir");
        CHECK(path_exists(path));
    }
    codomyrmex_key_manager_free(km);
}

static void test_default_dir(void)
{
    char *old_tmpdir = saved_env("TMPDIR");
    char *old_temp = saved_env("TEMP");
    char *old_tmp = saved_env("TMP");
    char tmpdir[TEST_PATH_MAX];
    char temp[TEST_PATH_MAX];
    char tmp[TEST_PATH_MAX];

    check_section("open(NULL): the default directory");
    path_join(tmpdir, base, "env-tmpdir");
    path_join(temp, base, "env-temp");
    path_join(tmp, base, "env-tmp");
    CHECK(mkdir(tmpdir, 0700) == 0);
    CHECK(mkdir(temp, 0700) == 0);
    CHECK(mkdir(tmp, 0700) == 0);

    /* $TMPDIR wins over the others. */
    setenv("TMPDIR", tmpdir, 1);
    setenv("TEMP", temp, 1);
    setenv("TMP", tmp, 1);
    expect_default_dir(tmpdir);
    /* Then $TEMP, then $TMP. */
    unsetenv("TMPDIR");
    expect_default_dir(temp);
    unsetenv("TEMP");
    expect_default_dir(tmp);

    /* A $TMPDIR (or $TEMP) that names no usable directory is skipped, as
     * the original module's tempfile.gettempdir() skips it. */
    path_join(tmpdir, base, "env-missing/deeper");
    setenv("TMPDIR", tmpdir, 1);
    setenv("TEMP", temp, 1);
    expect_default_dir(temp);
    CHECK_INT(path_mode(tmpdir), -1);

    restore_env("TMPDIR", old_tmpdir);
    restore_env("TEMP", old_temp);
    restore_env("TMP", old_tmp);
}

int main(void)
{
    int ok;

    /* Anything that hangs (a FIFO opened for reading, a lock never
     * released) kills the test instead of stalling CI. */
    alarm(240);
    make_temp_dir("key-manager", base);

    test_round_trip();
    test_rotate();
    test_concurrency();
    test_dir_identity();
    test_large_list();
    test_list();
    test_dir_path();
    test_modes();
    test_invalid_key_ids();
    test_key_lengths();
    test_insecure();
    test_corrupt();
    test_null_pointers();
    test_default_dir();

    ok = remove_tree(base);
    check_section("cleanup");
    CHECK(ok);
    return check_summary("test_key_manager");
}
