/*
 * Key sources through the C interface: open options
 * (codomyrmex_open_options_*), the location string of
 * codomyrmex_key_manager_open_with (NULL, a path, "mounted:<dir>", unknown
 * schemes), a mounted source laid out and updated as the Kubernetes kubelet
 * does it (a timestamped directory, "..data" swapped by rename(2), links
 * "<name> -> ..data/<name>"), a private directory opened read-only, the
 * writers' lock timeout, and codomyrmex_last_os_error.
 *
 * Parts that need another user (a file owned by another uid, a source
 * uid 65534 may not read) run only as root and say so otherwise. Set
 * CODOMYRMEX_TEST_SKIP_THREADS=1 to skip the part where a thread releases
 * a lock another thread waits for (valgrind's scheduler).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"


#define UNPRIVILEGED_ID 65534
#define OTHER_UID 4242
#define KEY_LEN 32

static char base[TEST_PATH_MAX];
static const uint8_t DATA[] = "data authenticated across a rollout";
/* Version n of the mounted key "api" is keys[n - 1]. */
static uint8_t keys[3][KEY_LEN];

/* ---------------------------------------------------------------------------
 * Helpers
 */

/* True if this thread's last error message contains `needle` (printed
 * otherwise). */
static bool message_has(const char *needle)
{
    char message[1024];

    codomyrmex_last_error_message(message, sizeof message);
    if (strstr(message, needle) != NULL) {
        return true;
    }
    fprintf(stderr, "    the last error message lacks \"%s\": %s\n", needle, message);
    return false;
}

static bool threads_skipped(void)
{
    const char *skip = getenv("CODOMYRMEX_TEST_SKIP_THREADS");
    return skip != NULL && strcmp(skip, "1") == 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "mounted:" + path. */
static void mounted(char out[TEST_PATH_MAX], const char *path)
{
    if ((size_t)snprintf(out, TEST_PATH_MAX, "mounted:%s", path) >= TEST_PATH_MAX) {
        abort();
    }
}

/* The tagged MAC of DATA under version `version` of the mounted key,
 * made by hand: 0x01 || version (big-endian) || HMAC-SHA256. */
static void make_tag(uint32_t version, uint8_t tag[CODOMYRMEX_TAG_OVERHEAD + 32])
{
    size_t len = 0;

    tag[0] = 0x01;
    tag[1] = (uint8_t)(version >> 24);
    tag[2] = (uint8_t)(version >> 16);
    tag[3] = (uint8_t)(version >> 8);
    tag[4] = (uint8_t)version;
    CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, keys[version - 1], KEY_LEN, DATA,
                                     sizeof DATA, tag + CODOMYRMEX_TAG_OVERHEAD, 32, &len));
    CHECK_SIZE(len, 32);
}

/* Every write call on `km` fails with INVALID_ARGUMENT, saying the source
 * is read-only. */
static void check_writes_refused(const codomyrmex_key_manager *km, const char *id)
{
    static const uint8_t key[KEY_LEN] = {1};
    uint8_t old[KEY_LEN + 1];
    size_t old_len = 0;
    uint32_t version = 0;

    CHECK_STATUS(codomyrmex_key_manager_store(km, id, key, sizeof key),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("read-only key source"));
    CHECK_STATUS(codomyrmex_key_manager_create(km, "brand-new", key, sizeof key),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("read-only key source"));
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "brand-new", 32),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, id, key, sizeof key, old, sizeof old,
                                               &old_len),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_SIZE(old_len, 0);
    CHECK_STATUS(codomyrmex_key_manager_delete(km, id), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("read-only key source"));
    CHECK_STATUS(codomyrmex_key_manager_prune(km, id, 1), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_stage(km, id, key, sizeof key, &version),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_stage_generate(km, id, 32, &version),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_promote(km, id, 1), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("read-only key source"));
    CHECK_SIZE(version, 0);
}

/* ---------------------------------------------------------------------------
 * Open options
 */

static void test_options(void)
{
    codomyrmex_open_options *opts = NULL;
    int pass;

    check_section("open options: NULL handling");
    CHECK_STATUS(codomyrmex_open_options_new(NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_read_only(NULL, true),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_trusted_uid(NULL, 0), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_lock_timeout_ms(NULL, 1),
                 CODOMYRMEX_ERR_NULL_POINTER);
    codomyrmex_open_options_free(NULL);

    check_section("open options: setters");
    if (!CHECK_OK(codomyrmex_open_options_new(&opts)) || !CHECK(opts != NULL)) {
        return;
    }
    CHECK_OK(codomyrmex_open_options_set_read_only(opts, true));
    CHECK_OK(codomyrmex_open_options_set_read_only(opts, false));
    CHECK_OK(codomyrmex_open_options_set_trusted_uid(opts, OTHER_UID));
    CHECK_OK(codomyrmex_open_options_set_trusted_uid(opts, 0));
    CHECK_OK(codomyrmex_open_options_set_lock_timeout_ms(opts, 0));
    CHECK_OK(codomyrmex_open_options_set_lock_timeout_ms(opts, UINT32_MAX));
    codomyrmex_open_options_free(opts);

    /* Defaults, from a fresh options object and from NULL: a path is a
     * private directory, made 0700, readable and writable. */
    for (pass = 0; pass < 2; pass++) {
        char dir[TEST_PATH_MAX];
        codomyrmex_key_manager *km = NULL;
        uint8_t out[KEY_LEN] = {0};
        size_t len = 0;

        check_section(pass == 0 ? "open options: defaults of a new object"
                                : "open options: NULL means the defaults");
        opts = NULL;
        if (pass == 0 && !CHECK_OK(codomyrmex_open_options_new(&opts))) {
            continue;
        }
        path_join(dir, base, pass == 0 ? "defaults-object" : "defaults-null");
        if (CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &km))) {
            CHECK_INT(path_mode(dir), 0700);
            CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));
            CHECK_OK(codomyrmex_key_manager_get(km, "k", out, sizeof out, &len));
            CHECK_SIZE(len, KEY_LEN);
            CHECK_BYTES(out, keys[0], KEY_LEN);
            codomyrmex_key_manager_free(km);
        }
        codomyrmex_open_options_free(opts);
    }
}

/* ---------------------------------------------------------------------------
 * Locations
 */

static void test_locations(void)
{
    static const char *const unknown[] = {"vault:/etc/keys", "s3://bucket/keys", "file:keys"};
    char dir[TEST_PATH_MAX];
    char location[TEST_PATH_MAX];
    char tmp[TEST_PATH_MAX];
    char expected[TEST_PATH_MAX];
    char resolved[TEST_PATH_MAX];
    char *saved_tmpdir;
    codomyrmex_key_manager *km = NULL;
    size_t len = 0;
    size_t i;

    check_section("locations: NULL output");
    path_join(dir, base, "never-opened");
    CHECK_STATUS(codomyrmex_key_manager_open_with(dir, NULL, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(!path_exists(dir));

    check_section("locations: NULL is the default directory");
    path_join(tmp, base, "default-tmp");
    CHECK_INT(mkdir(tmp, 0700), 0);
    saved_tmpdir = getenv("TMPDIR") != NULL ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", tmp, 1);
    unsetenv("CODOMYRMEX_KEY_DIR");
    if (CHECK_OK(codomyrmex_key_manager_open_with(NULL, NULL, &km))) {
        path_join(expected, tmp, "codomyrmex_keys");
        CHECK_OK(codomyrmex_key_manager_dir(km, resolved, sizeof resolved, &len));
        CHECK_STR(resolved, expected);
        CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));
        codomyrmex_key_manager_free(km);
        km = NULL;
    }
    if (saved_tmpdir != NULL) {
        setenv("TMPDIR", saved_tmpdir, 1);
        free(saved_tmpdir);
    } else {
        unsetenv("TMPDIR");
    }

    check_section("locations: a path with a colon is a directory");
    path_join(dir, base, "with:colon");
    if (CHECK_OK(codomyrmex_key_manager_open_with(dir, NULL, &km))) {
        CHECK_INT(path_mode(dir), 0700);
        codomyrmex_key_manager_free(km);
        km = NULL;
    }

    check_section("locations: unknown schemes");
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STATUS(codomyrmex_key_manager_open_with(unknown[i], NULL, &km),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK(km == NULL);
        CHECK(message_has("unknown key source scheme"));
    }
    CHECK_STATUS(codomyrmex_key_manager_open_with("mounted:", NULL, &km),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(km == NULL);

    check_section("locations: a mounted source that does not exist is not made");
    path_join(dir, base, "no-such-source");
    mounted(location, dir);
    CHECK_STATUS(codomyrmex_key_manager_open_with(location, NULL, &km), CODOMYRMEX_ERR_IO);
    CHECK(km == NULL);
    CHECK(!path_exists(dir));
}

/* ---------------------------------------------------------------------------
 * A mounted source laid out as the kubelet lays out a Secret volume
 */

/* Writes `name` into `dir` with version `version`'s bytes, mode 0644. */
static void put_key(const char *dir, const char *name, int version)
{
    char path[TEST_PATH_MAX];

    path_join(path, dir, name);
    CHECK(write_file(path, keys[version - 1], KEY_LEN, 0644));
}

/* Publishes the timestamped directory `ts` (already filled) the way the
 * kubelet does: a link "..data_tmp -> ts", renamed over "..data", then
 * "<name> -> ..data/<name>" for each of `names` that has no link yet. */
static void publish(const char *source, const char *ts, const char *const *names, size_t count)
{
    char tmp_link[TEST_PATH_MAX];
    char data_link[TEST_PATH_MAX];
    size_t i;

    path_join(tmp_link, source, "..data_tmp");
    path_join(data_link, source, "..data");
    CHECK_INT(symlink(ts, tmp_link), 0);
    CHECK_INT(rename(tmp_link, data_link), 0);
    for (i = 0; i < count; i++) {
        char visible[TEST_PATH_MAX];
        char target[TEST_PATH_MAX];

        path_join(visible, source, names[i]);
        path_join(target, "..data", names[i]);
        if (!path_exists(visible)) {
            CHECK_INT(symlink(target, visible), 0);
        }
    }
}

static void check_current(const codomyrmex_key_manager *km, uint32_t current)
{
    uint8_t out[KEY_LEN + 8] = {0};
    uint8_t mac[32] = {0};
    uint8_t expected_mac[32] = {0};
    uint8_t tag[CODOMYRMEX_TAG_OVERHEAD + 32] = {0};
    uint8_t made[CODOMYRMEX_TAG_OVERHEAD + 32] = {0};
    uint32_t versions[8] = {0};
    size_t len = 0;
    size_t count = 0;
    uint32_t number = 0;
    uint32_t v;
    char list[64] = {0};
    bool exists = false;

    CHECK_OK(codomyrmex_key_manager_list(km, list, sizeof list, &len, &count));
    CHECK_SIZE(count, 1);
    CHECK_SIZE(len, 4);
    CHECK_BYTES(list, "api", 4);
    CHECK_OK(codomyrmex_key_manager_exists(km, "api", &exists));
    CHECK(exists);
    CHECK_OK(codomyrmex_key_manager_exists(km, "absent", &exists));
    CHECK(!exists);
    CHECK_OK(codomyrmex_key_manager_get(km, "api", out, sizeof out, &len));
    CHECK_SIZE(len, KEY_LEN);
    CHECK_BYTES(out, keys[current - 1], KEY_LEN);
    CHECK_OK(codomyrmex_key_manager_current_version(km, "api", &number));
    CHECK_INT(number, current);
    CHECK_OK(codomyrmex_key_manager_list_versions(km, "api", versions, 8, &count));
    CHECK_SIZE(count, current);
    for (v = 1; v <= current && v <= count; v++) {
        CHECK_INT(versions[v - 1], v);
        CHECK_OK(codomyrmex_key_manager_get_version(km, "api", v, out, sizeof out, &len));
        CHECK_BYTES(out, keys[v - 1], KEY_LEN);
        make_tag(v, tag);
        CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "api", CODOMYRMEX_SHA256, DATA,
                                                           sizeof DATA, tag, sizeof tag));
    }
    CHECK_STATUS(codomyrmex_key_manager_get_version(km, "api", current + 1, out, sizeof out,
                                                    &len),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_OK(codomyrmex_key_manager_hmac(km, "api", CODOMYRMEX_SHA256, DATA, sizeof DATA, mac,
                                         sizeof mac, &len));
    CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, keys[current - 1], KEY_LEN, DATA,
                                     sizeof DATA, expected_mac, sizeof expected_mac, &len));
    CHECK_BYTES(mac, expected_mac, sizeof mac);
    CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, "api", CODOMYRMEX_SHA256, DATA,
                                                sizeof DATA, made, sizeof made, &len));
    make_tag(current, tag);
    CHECK_SIZE(len, sizeof tag);
    CHECK_BYTES(made, tag, sizeof tag);
}

static void test_mounted(void)
{
    static const char *const before[] = {"api.key", "api.key.v1"};
    static const char *const after[] = {"api.key", "api.key.v1", "api.key.v2"};
    char source[TEST_PATH_MAX];
    char ts1[TEST_PATH_MAX];
    char ts2[TEST_PATH_MAX];
    char location[TEST_PATH_MAX];
    char link[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    codomyrmex_open_options *opts = NULL;
    uint8_t tag[CODOMYRMEX_TAG_OVERHEAD + 32];
    int entries;

    check_section("mounted: a Kubernetes-style volume");
    path_join(source, base, "volume");
    CHECK_INT(mkdir(source, 0755), 0);
    CHECK_INT(chmod(source, 01777), 0);
    path_join(ts1, source, "..2024_05_01_10_00_00.1234567");
    CHECK_INT(mkdir(ts1, 0755), 0);
    put_key(ts1, "api.key", 2);
    put_key(ts1, "api.key.v1", 1);
    publish(source, "..2024_05_01_10_00_00.1234567", before, 2);
    mounted(location, source);
    if (!CHECK_OK(codomyrmex_key_manager_open_with(location, NULL, &km))) {
        return;
    }
    check_current(km, 2);
    /* A version no file has, and a tag naming it. */
    make_tag(3, tag);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "api", CODOMYRMEX_SHA256, DATA,
                                                           sizeof DATA, tag, sizeof tag),
                 CODOMYRMEX_ERR_VERIFY_FAILED);

    check_section("mounted: every write is refused and changes nothing");
    entries = count_entries(source);
    check_writes_refused(km, "api");
    CHECK_INT(count_entries(source), entries);
    CHECK_INT(count_entries(ts1), 2);
    check_current(km, 2);

    check_section("mounted: the kubelet's update, seen without reopening");
    path_join(ts2, source, "..2024_05_01_11_00_00.7654321");
    CHECK_INT(mkdir(ts2, 0755), 0);
    put_key(ts2, "api.key", 3);
    put_key(ts2, "api.key.v1", 1);
    put_key(ts2, "api.key.v2", 2);
    publish(source, "..2024_05_01_11_00_00.7654321", after, 3);
    CHECK(remove_tree(ts1));
    check_current(km, 3);
    codomyrmex_key_manager_free(km);
    km = NULL;

    check_section("mounted: read_only(false) does not make it writable");
    if (CHECK_OK(codomyrmex_open_options_new(&opts))) {
        CHECK_OK(codomyrmex_open_options_set_read_only(opts, false));
        if (CHECK_OK(codomyrmex_key_manager_open_with(location, opts, &km))) {
            check_writes_refused(km, "api");
            codomyrmex_key_manager_free(km);
            km = NULL;
        }
        codomyrmex_open_options_free(opts);
        opts = NULL;
    }
    CHECK_INT(count_entries(source), entries + 1);

    check_section("mounted: a link out of the source is refused");
    path_join(source, base, "plain");
    CHECK_INT(mkdir(source, 0755), 0);
    path_join(link, source, "api.key");
    CHECK_INT(symlink("/etc/passwd", link), 0);
    mounted(location, source);
    if (CHECK_OK(codomyrmex_key_manager_open_with(location, NULL, &km))) {
        uint8_t out[KEY_LEN] = {0};
        size_t len = 0;

        CHECK_STATUS(codomyrmex_key_manager_get(km, "api", out, sizeof out, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK(message_has(link));
        CHECK_SIZE(len, 0);
        codomyrmex_key_manager_free(km);
        km = NULL;
    }

    check_section("mounted: a file of another uid, trusted only by name");
    if (geteuid() != 0) {
        printf("skipped: files of another uid need root\n");
        return;
    }
    path_join(source, base, "agent");
    CHECK_INT(mkdir(source, 0755), 0);
    put_key(source, "api.key", 1);
    path_join(link, source, "api.key");
    CHECK_INT(chown(link, OTHER_UID, OTHER_UID), 0);
    CHECK_INT(chmod(link, 0640), 0);
    mounted(location, source);
    if (CHECK_OK(codomyrmex_key_manager_open_with(location, NULL, &km))) {
        uint8_t out[KEY_LEN] = {0};
        size_t len = 0;

        CHECK_STATUS(codomyrmex_key_manager_get(km, "api", out, sizeof out, &len),
                     CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
        CHECK(message_has("owned by uid 4242"));
        codomyrmex_key_manager_free(km);
        km = NULL;
    }
    if (CHECK_OK(codomyrmex_open_options_new(&opts))) {
        uint8_t out[KEY_LEN] = {0};
        size_t len = 0;

        CHECK_OK(codomyrmex_open_options_set_trusted_uid(opts, OTHER_UID));
        if (CHECK_OK(codomyrmex_key_manager_open_with(location, opts, &km))) {
            CHECK_OK(codomyrmex_key_manager_get(km, "api", out, sizeof out, &len));
            CHECK_BYTES(out, keys[0], KEY_LEN);
            codomyrmex_key_manager_free(km);
            km = NULL;
        }
        /* The last setter wins: another uid, and the file is refused again. */
        CHECK_OK(codomyrmex_open_options_set_trusted_uid(opts, OTHER_UID + 1));
        if (CHECK_OK(codomyrmex_key_manager_open_with(location, opts, &km))) {
            CHECK_STATUS(codomyrmex_key_manager_get(km, "api", out, sizeof out, &len),
                         CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
            codomyrmex_key_manager_free(km);
        }
        codomyrmex_open_options_free(opts);
    }
}

/* ---------------------------------------------------------------------------
 * A private directory opened read-only
 */

static void test_read_only_dir(void)
{
    char dir[TEST_PATH_MAX];
    char missing[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    codomyrmex_open_options *opts = NULL;
    uint8_t out[KEY_LEN] = {0};
    uint8_t old[KEY_LEN] = {0};
    size_t len = 0;
    int entries;

    check_section("read-only directory: reads work, writes are refused");
    path_join(dir, base, "private");
    if (!CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old, &len));
    codomyrmex_key_manager_free(km);
    km = NULL;
    entries = count_entries(dir);
    if (!CHECK_OK(codomyrmex_open_options_new(&opts))) {
        return;
    }
    CHECK_OK(codomyrmex_open_options_set_read_only(opts, true));
    if (CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &km))) {
        CHECK_OK(codomyrmex_key_manager_get(km, "k", out, sizeof out, &len));
        CHECK_BYTES(out, keys[1], KEY_LEN);
        CHECK_OK(codomyrmex_key_manager_get_version(km, "k", 1, out, sizeof out, &len));
        CHECK_BYTES(out, keys[0], KEY_LEN);
        check_writes_refused(km, "k");
        codomyrmex_key_manager_free(km);
        km = NULL;
    }
    CHECK_INT(count_entries(dir), entries);

    check_section("read-only directory: nothing is created");
    path_join(missing, base, "private-missing");
    CHECK(codomyrmex_key_manager_open_with(missing, opts, &km) != CODOMYRMEX_OK);
    CHECK(km == NULL);
    CHECK(!path_exists(missing));
    codomyrmex_open_options_free(opts);
}

/* ---------------------------------------------------------------------------
 * The writers' lock timeout
 *
 * Another writer is stood in for by an open file description holding a
 * whole-file lock on the directory's lock file ".lock", which covers the
 * byte the library locks for each key.
 */

static int hold_lock(const char *dir)
{
    char path[TEST_PATH_MAX];
    struct flock range;
    int fd;

    path_join(path, dir, ".lock");
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    memset(&range, 0, sizeof range);
    range.l_type = F_WRLCK;
    range.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &range) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *release_later(void *arg)
{
    int fd = *(int *)arg;
    struct timespec delay = {0, 300 * 1000 * 1000};

    nanosleep(&delay, NULL);
    close(fd);
    return NULL;
}

static void test_lock_timeout(void)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    codomyrmex_open_options *opts = NULL;
    uint8_t out[KEY_LEN] = {0};
    size_t len = 0;
    double started;
    double waited;
    int fd;

    check_section("lock timeout: a writer gives up after the timeout");
    path_join(dir, base, "locked");
    if (!CHECK_OK(codomyrmex_open_options_new(&opts))) {
        return;
    }
    CHECK_OK(codomyrmex_open_options_set_lock_timeout_ms(opts, 100));
    if (!CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &km))) {
        codomyrmex_open_options_free(opts);
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));
    fd = hold_lock(dir);
    if (CHECK(fd >= 0)) {
        started = now_seconds();
        CHECK_STATUS(codomyrmex_key_manager_store(km, "k", keys[1], KEY_LEN), CODOMYRMEX_ERR_IO);
        waited = now_seconds() - started;
        CHECK(message_has("timed out waiting for the lock"));
        CHECK(waited >= 0.09 && waited < 10.0);
        /* Readers never wait for writers. */
        CHECK_OK(codomyrmex_key_manager_get(km, "k", out, sizeof out, &len));
        CHECK_BYTES(out, keys[0], KEY_LEN);
        close(fd);
        CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[1], KEY_LEN));
    }
    codomyrmex_key_manager_free(km);
    km = NULL;

    check_section("lock timeout: 0 waits as long as it takes");
    if (threads_skipped()) {
        printf("skipped: the waiting writer (CODOMYRMEX_TEST_SKIP_THREADS=1)\n");
        codomyrmex_open_options_free(opts);
        return;
    }
    CHECK_OK(codomyrmex_open_options_set_lock_timeout_ms(opts, 0));
    if (CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &km))) {
        pthread_t releaser;

        fd = hold_lock(dir);
        if (CHECK(fd >= 0) && CHECK_INT(pthread_create(&releaser, NULL, release_later, &fd), 0)) {
            started = now_seconds();
            CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[2], KEY_LEN));
            waited = now_seconds() - started;
            CHECK(waited >= 0.25);
            pthread_join(releaser, NULL);
            CHECK_OK(codomyrmex_key_manager_get(km, "k", out, sizeof out, &len));
            CHECK_BYTES(out, keys[2], KEY_LEN);
        }
        codomyrmex_key_manager_free(km);
    }
    codomyrmex_open_options_free(opts);
}

/* ---------------------------------------------------------------------------
 * codomyrmex_last_os_error
 */

static void *last_os_error_of_new_thread(void *arg)
{
    *(int *)arg = codomyrmex_last_os_error();
    return NULL;
}

/* As uid 65534: a source only root may read, in `parent`. Exit status 0
 * if the checks passed, 77 if uid 65534 cannot reach `parent`. */
static int unreadable_source_as_nobody(const char *parent, const char *location)
{
    pid_t pid;
    int status = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        codomyrmex_key_manager *km = NULL;
        unsigned long failures_before = check_failures();

        if (setgid(UNPRIVILEGED_ID) != 0 || setuid(UNPRIVILEGED_ID) != 0) {
            perror("dropping privileges");
            _exit(2);
        }
        if (access(parent, X_OK) != 0) {
            _exit(77);
        }
        check_section("last_os_error: EACCES as uid 65534");
        CHECK_STATUS(codomyrmex_key_manager_open_with(location, NULL, &km), CODOMYRMEX_ERR_IO);
        CHECK_INT(codomyrmex_last_os_error(), EACCES);
        CHECK(message_has("EACCES"));
        fflush(stdout);
        fflush(stderr);
        _exit(check_failures() == failures_before ? 0 : 1);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void test_last_os_error(void)
{
    char path[TEST_PATH_MAX];
    char location[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    pthread_t thread;
    uint8_t bytes[4];
    int other = -1;

    check_section("last_os_error: ENOENT, kept by a success, per thread");
    path_join(path, base, "missing-source");
    mounted(location, path);
    CHECK_STATUS(codomyrmex_key_manager_open_with(location, NULL, &km), CODOMYRMEX_ERR_IO);
    CHECK_INT(codomyrmex_last_os_error(), ENOENT);
    CHECK(message_has(path));
    CHECK(message_has("ENOENT"));
    CHECK_OK(codomyrmex_random_bytes(bytes, sizeof bytes));
    CHECK_INT(codomyrmex_last_os_error(), ENOENT);
    if (CHECK_INT(pthread_create(&thread, NULL, last_os_error_of_new_thread, &other), 0)) {
        pthread_join(thread, NULL);
        CHECK_INT(other, 0);
    }

    check_section("last_os_error: ENOTDIR");
    path_join(path, base, "a-file");
    CHECK(write_file(path, "x", 1, 0644));
    mounted(location, path);
    CHECK_STATUS(codomyrmex_key_manager_open_with(location, NULL, &km), CODOMYRMEX_ERR_IO);
    CHECK_INT(codomyrmex_last_os_error(), ENOTDIR);

    check_section("last_os_error: 0 after a failure with no errno");
    CHECK_STATUS(codomyrmex_key_manager_open_with("vault:/keys", NULL, &km),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_INT(codomyrmex_last_os_error(), 0);

    if (geteuid() != 0) {
        printf("skipped: EACCES as another user needs root\n");
        return;
    }
    path_join(path, base, "root-only");
    CHECK_INT(mkdir(path, 0700), 0);
    CHECK_INT(chmod(base, 0711), 0);
    mounted(location, path);
    check_section("last_os_error: EACCES as uid 65534");
    switch (unreadable_source_as_nobody(base, location)) {
    case 0:
        break;
    case 77:
        printf("skipped: %s is not reachable by uid %d\n", base, UNPRIVILEGED_ID);
        break;
    default:
        CHECK(!"the unprivileged child passed its checks");
    }
}

int main(void)
{
    size_t i;

    make_temp_dir("sources", base);
    for (i = 0; i < 3; i++) {
        CHECK_OK(codomyrmex_random_bytes(keys[i], KEY_LEN));
    }
    test_options();
    test_locations();
    test_mounted();
    test_read_only_dir();
    test_lock_timeout();
    test_last_os_error();
    check_section("cleanup");
    CHECK(remove_tree(base));
    return check_summary("test_sources");
}
