/*
 * Key versions: codomyrmex_key_manager_current_version, _get_version,
 * _list_versions, _prune, _hmac_version, _derive_version, _hmac_tagged and
 * _hmac_verify_tagged, and how store, rotate and delete keep or remove
 * versions on disk.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"

static char base[TEST_PATH_MAX];

#define KEY_LEN 32
#define VERSIONS 5

/* Five distinct random keys: version n of key "k" is keys[n - 1]. */
static uint8_t keys[VERSIONS][KEY_LEN];
/* Keys of the other ids, so that a search for keys[n] finds only "k". */
static uint8_t other_key[KEY_LEN];

static const uint8_t DATA[] = "data authenticated across rotations";

/* ---------------------------------------------------------------------------
 * Helpers
 */

static bool contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
    size_t i;

    for (i = 0; i + len <= hay_len; i++) {
        if (memcmp(hay + i, needle, len) == 0) {
            return true;
        }
    }
    return false;
}

/* Walks `dir` recursively: counts the regular files whose content holds
 * `needle` (if not NULL), and the entries whose mode breaks the rule
 * (files 0600, directories 0700). */
static void scan(const char *dir, const uint8_t *needle, size_t needle_len, int *holding,
                 int *bad_modes)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL) {
        (*bad_modes)++;
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char path[TEST_PATH_MAX];
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        path_join(path, dir, e->d_name);
        if (lstat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if ((st.st_mode & 07777) != 0700) {
                fprintf(stderr, "    %s: directory mode %04o\n", path,
                        (unsigned)(st.st_mode & 07777));
                (*bad_modes)++;
            }
            scan(path, needle, needle_len, holding, bad_modes);
        } else if (S_ISREG(st.st_mode)) {
            if ((st.st_mode & 07777) != 0600) {
                fprintf(stderr, "    %s: file mode %04o\n", path, (unsigned)(st.st_mode & 07777));
                (*bad_modes)++;
            }
            if (needle != NULL && st.st_size > 0) {
                uint8_t *content = malloc((size_t)st.st_size);
                int fd = open(path, O_RDONLY);

                if (content != NULL && fd >= 0 &&
                    read(fd, content, (size_t)st.st_size) == (ssize_t)st.st_size &&
                    contains(content, (size_t)st.st_size, needle, needle_len)) {
                    fprintf(stderr, "    note: %s holds the bytes\n", path);
                    (*holding)++;
                }
                if (fd >= 0) {
                    close(fd);
                }
                free(content);
            }
        }
    }
    closedir(d);
}

/* Number of files under `dir` that hold `key`. */
static int files_holding(const char *dir, const uint8_t *key, size_t len)
{
    int holding = 0;
    int bad_modes = 0;

    scan(dir, key, len, &holding, &bad_modes);
    return holding;
}

/* Every file under `dir` is 0600 and every directory 0700. */
static void check_modes(const char *dir)
{
    int holding = 0;
    int bad_modes = 0;

    scan(dir, NULL, 0, &holding, &bad_modes);
    CHECK_INT(bad_modes, 0);
}

/* The top-level names of `dir` that end in ".key", joined with '/'. */
static void key_glob(const char *dir, char *out, size_t cap)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    int i;
    size_t used = 0;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);

        if (len >= 4 && strcmp(names[i]->d_name + len - 4, ".key") == 0) {
            int w = snprintf(out + used, cap - used, "%s/", names[i]->d_name);

            if (w > 0 && (size_t)w < cap - used) {
                used += (size_t)w;
            }
        }
        free(names[i]);
    }
    free(names);
}

static void expect_versions(const codomyrmex_key_manager *km, const char *key_id,
                            const uint32_t *expected, size_t count)
{
    uint32_t got[16];
    size_t got_count = 0;
    size_t i;

    if (!CHECK_OK(codomyrmex_key_manager_list_versions(km, key_id, got, 16, &got_count))) {
        return;
    }
    if (!CHECK_SIZE(got_count, count)) {
        return;
    }
    for (i = 0; i < count; i++) {
        if (!CHECK_SIZE(got[i], expected[i])) {
            fprintf(stderr, "    at index %zu\n", i);
        }
    }
}

static void expect_version_bytes(const codomyrmex_key_manager *km, const char *key_id,
                                 uint32_t version, const uint8_t *key, size_t len)
{
    uint8_t got[64];
    size_t got_len = 0;

    if (CHECK_OK(codomyrmex_key_manager_get_version(km, key_id, version, got, sizeof got,
                                                    &got_len))) {
        CHECK_SIZE(got_len, len);
        CHECK_BYTES(got, key, len);
    } else {
        fprintf(stderr, "    version %u\n", (unsigned)version);
    }
}

static uint32_t current_version(const codomyrmex_key_manager *km, const char *key_id)
{
    uint32_t version = 0;

    CHECK_OK(codomyrmex_key_manager_current_version(km, key_id, &version));
    return version;
}

/* ---------------------------------------------------------------------------
 * Numbering: new ids are version 1; store over a key and rotate add a
 * version and keep the previous ones; get & co. use the current one.
 */
static void test_numbering(const codomyrmex_key_manager *km, const char *dir)
{
    static const uint32_t one[] = {1};
    static const uint32_t all[] = {1, 2, 3, 4, 5};
    uint8_t old[64];
    size_t old_len = 0;
    uint32_t v;
    char glob[512];

    check_section("version numbers");
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));
    CHECK_INT(current_version(km, "k"), 1);
    expect_versions(km, "k", one, 1);
    CHECK_OK(codomyrmex_key_manager_create(km, "created", other_key, KEY_LEN));
    CHECK_INT(current_version(km, "created"), 1);
    CHECK_OK(codomyrmex_key_manager_generate(km, "generated", 16));
    CHECK_INT(current_version(km, "generated"), 1);
    old_len = 999;
    CHECK_OK(codomyrmex_key_manager_rotate(km, "rotated", other_key, KEY_LEN, old, sizeof old,
                                           &old_len));
    CHECK_SIZE(old_len, 0);
    CHECK_INT(current_version(km, "rotated"), 1);

    /* store over an existing key: version 2, version 1 kept */
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[1], KEY_LEN));
    CHECK_INT(current_version(km, "k"), 2);
    /* rotate: versions 3, 4, 5, each returning the previous one */
    for (v = 3; v <= VERSIONS; v++) {
        CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[v - 1], KEY_LEN, old, sizeof old,
                                               &old_len));
        CHECK_SIZE(old_len, KEY_LEN);
        CHECK_BYTES(old, keys[v - 2], KEY_LEN);
        CHECK_INT(current_version(km, "k"), v);
    }
    expect_versions(km, "k", all, VERSIONS);
    for (v = 1; v <= VERSIONS; v++) {
        expect_version_bytes(km, "k", v, keys[v - 1], KEY_LEN);
    }
    /* 0 means the current version; get agrees */
    expect_version_bytes(km, "k", 0, keys[VERSIONS - 1], KEY_LEN);
    {
        uint8_t got[64];
        size_t got_len = 0;

        CHECK_OK(codomyrmex_key_manager_get(km, "k", got, sizeof got, &got_len));
        CHECK_SIZE(got_len, KEY_LEN);
        CHECK_BYTES(got, keys[VERSIONS - 1], KEY_LEN);
    }

    /* A rotation refused for a small buffer adds no version. */
    old_len = 0;
    CHECK_STATUS(codomyrmex_key_manager_rotate(km, "k", keys[0], KEY_LEN, old, KEY_LEN - 1,
                                               &old_len),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_INT(current_version(km, "k"), VERSIONS);
    expect_versions(km, "k", all, VERSIONS);

    /* The current key stays <id>.key; older versions are neither listed
     * nor visible to a *.key glob of the directory. */
    key_glob(dir, glob, sizeof glob);
    CHECK_STR(glob, "created.key/generated.key/k.key/rotated.key/");
    {
        char list[256];
        size_t len = 0;
        size_t count = 0;

        CHECK_OK(codomyrmex_key_manager_list(km, list, sizeof list, &len, &count));
        CHECK_SIZE(count, 4);
        CHECK_BYTES(list, "created\0generated\0k\0rotated", len);
    }
    /* Older versions live under the same permission rules. */
    check_modes(dir);
}

/* ---------------------------------------------------------------------------
 * A key file without version records (as the original Python module
 * wrote them) is version 1.
 */
static void test_legacy_file(const codomyrmex_key_manager *km, const char *dir)
{
    static const uint8_t legacy[] = "written before versions existed";
    static const uint32_t both[] = {1, 2};
    char path[TEST_PATH_MAX];
    uint8_t old[64];
    size_t old_len = 0;

    check_section("a key file without version records");
    path_join(path, dir, "legacy.key");
    CHECK(write_file(path, legacy, sizeof legacy, 0600));
    CHECK_INT(current_version(km, "legacy"), 1);
    expect_version_bytes(km, "legacy", 1, legacy, sizeof legacy);
    CHECK_OK(codomyrmex_key_manager_rotate(km, "legacy", other_key, KEY_LEN, old, sizeof old,
                                           &old_len));
    CHECK_SIZE(old_len, sizeof legacy);
    CHECK_BYTES(old, legacy, sizeof legacy);
    CHECK_INT(current_version(km, "legacy"), 2);
    expect_versions(km, "legacy", both, 2);
    expect_version_bytes(km, "legacy", 1, legacy, sizeof legacy);
    expect_version_bytes(km, "legacy", 2, other_key, KEY_LEN);
}

/* ---------------------------------------------------------------------------
 * hmac_version / derive_version use the version asked for.
 */
static void test_versioned_use(const codomyrmex_key_manager *km)
{
    uint32_t v;

    check_section("hmac_version and derive_version");
    for (v = 0; v <= VERSIONS; v++) {
        const uint8_t *key = keys[(v == 0 ? VERSIONS : v) - 1];
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t okm[50];
        uint8_t expected_okm[50];
        size_t mac_len = 0;
        size_t expected_len = 0;

        CHECK_OK(codomyrmex_key_manager_hmac_version(km, "k", v, CODOMYRMEX_SHA384, DATA,
                                                     sizeof DATA, mac, sizeof mac, &mac_len));
        CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA384, key, KEY_LEN, DATA, sizeof DATA,
                                         expected, sizeof expected, &expected_len));
        CHECK_SIZE(mac_len, 48);
        CHECK_BYTES(mac, expected, 48);
        CHECK_OK(codomyrmex_key_manager_derive_version(km, "k", v, CODOMYRMEX_SHA256,
                                                       (const uint8_t *)"salt", 4,
                                                       (const uint8_t *)"info", 4, okm,
                                                       sizeof okm));
        CHECK_OK(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, key, KEY_LEN, (const uint8_t *)"salt",
                                        4, (const uint8_t *)"info", 4, expected_okm,
                                        sizeof expected_okm));
        CHECK_BYTES(okm, expected_okm, sizeof okm);
    }
    /* Buffer rule and errors; outputs untouched. */
    {
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t okm[16];
        size_t mac_len = 0;

        memset(mac, 0xA5, sizeof mac);
        CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, "k", 1, CODOMYRMEX_SHA256, DATA,
                                                         sizeof DATA, mac, 31, &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, 32);
        CHECK_FILLED(mac, sizeof mac, 0xA5);
        mac_len = 999;
        CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, "k", VERSIONS + 1,
                                                         CODOMYRMEX_SHA256, DATA, sizeof DATA,
                                                         mac, sizeof mac, &mac_len),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_SIZE(mac_len, 999);
        CHECK_FILLED(mac, sizeof mac, 0xA5);
        memset(okm, 0xA5, sizeof okm);
        CHECK_STATUS(codomyrmex_key_manager_derive_version(km, "k", 0xFFFFFFFFu,
                                                           CODOMYRMEX_SHA256, NULL, 0, NULL, 0,
                                                           okm, sizeof okm),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_STATUS(codomyrmex_key_manager_derive_version(km, "k", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                           NULL, 0, okm, 0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(codomyrmex_key_manager_derive_version(km, "k", 1, 4, NULL, 0, NULL, 0, okm,
                                                           sizeof okm),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_FILLED(okm, sizeof okm, 0xA5);
        CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, "nope", 1, CODOMYRMEX_SHA256, DATA,
                                                         sizeof DATA, mac, sizeof mac, &mac_len),
                     CODOMYRMEX_ERR_NOT_FOUND);
    }
}

/* ---------------------------------------------------------------------------
 * Tagged MACs: 0x01 || version (big-endian) || HMAC, verifying across
 * rotations until the version is pruned.
 */
static void test_tagged(const codomyrmex_key_manager *km)
{
    static const codomyrmex_hash_alg algs[3] = {CODOMYRMEX_SHA256, CODOMYRMEX_SHA384,
                                                CODOMYRMEX_SHA512};
    size_t a;

    check_section("tagged MACs");
    CHECK_SIZE(CODOMYRMEX_TAG_OVERHEAD, 5);
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(algs[a]);
        uint8_t tag[CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN + 1];
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t tag_len = 0;
        size_t expected_len = 0;
        uint32_t version = current_version(km, "k");

        /* Format. */
        memset(tag, 0xA5, sizeof tag);
        CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, "k", algs[a], DATA, sizeof DATA, tag,
                                                    sizeof tag, &tag_len));
        CHECK_SIZE(tag_len, CODOMYRMEX_TAG_OVERHEAD + digest);
        CHECK(tag[0] == 0x01);
        CHECK_SIZE((uint32_t)tag[1] << 24 | (uint32_t)tag[2] << 16 | (uint32_t)tag[3] << 8 |
                       (uint32_t)tag[4],
                   version);
        CHECK_OK(codomyrmex_hmac_compute(algs[a], keys[version - 1], KEY_LEN, DATA, sizeof DATA,
                                         expected, sizeof expected, &expected_len));
        CHECK_BYTES(tag + CODOMYRMEX_TAG_OVERHEAD, expected, digest);
        CHECK(tag[tag_len] == 0xA5);
        CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA, sizeof DATA,
                                                           tag, tag_len));

        /* Every way to break it fails with VERIFY_FAILED. */
        tag[0] = 0x02;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        tag[0] = 0x01;
        tag[tag_len - 1] ^= 1;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        tag[tag_len - 1] ^= 1;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len - 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len + 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, 5),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, NULL, 0),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA - 1, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[(a + 1) % 3], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        /* Version 0 and an unknown version. */
        tag[1] = tag[2] = tag[3] = tag[4] = 0;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        tag[4] = 99;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        /* The same HMAC under an older version's number does not verify. */
        tag[4] = 1;
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        /* A tag made with version 1 by hand verifies: the version picks the key. */
        CHECK_OK(codomyrmex_hmac_compute(algs[a], keys[0], KEY_LEN, DATA, sizeof DATA,
                                         tag + CODOMYRMEX_TAG_OVERHEAD, digest, &expected_len));
        CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", algs[a], DATA, sizeof DATA,
                                                           tag, tag_len));

        /* A missing key id is NOT_FOUND, not a failed verification. */
        CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "nope", algs[a], DATA,
                                                               sizeof DATA, tag, tag_len),
                     CODOMYRMEX_ERR_NOT_FOUND);

        /* Buffer rule. */
        memset(tag, 0xA5, sizeof tag);
        tag_len = 0;
        CHECK_STATUS(codomyrmex_key_manager_hmac_tagged(km, "k", algs[a], DATA, sizeof DATA,
                                                        tag, CODOMYRMEX_TAG_OVERHEAD + digest - 1,
                                                        &tag_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(tag_len, CODOMYRMEX_TAG_OVERHEAD + digest);
        CHECK_FILLED(tag, sizeof tag, 0xA5);
        tag_len = 0;
        CHECK_STATUS(codomyrmex_key_manager_hmac_tagged(km, "k", algs[a], DATA, sizeof DATA,
                                                        NULL, 0, &tag_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(tag_len, CODOMYRMEX_TAG_OVERHEAD + digest);
    }
}

/* ---------------------------------------------------------------------------
 * A tagged MAC outlives rotations and dies with its version's pruning;
 * pruning and deleting leave no copy of the removed keys on disk.
 */
static void test_prune_and_delete(const codomyrmex_key_manager *km, const char *dir)
{
    static const uint32_t only_current[] = {6};
    uint8_t tag_v5[CODOMYRMEX_TAG_OVERHEAD + 32];
    uint8_t tag_v6[CODOMYRMEX_TAG_OVERHEAD + 32];
    uint8_t new_key[KEY_LEN];
    uint8_t old[64];
    size_t tag_len = 0;
    size_t old_len = 0;
    uint32_t v;

    check_section("prune");
    CHECK_STATUS(codomyrmex_key_manager_prune(km, "k", 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_key_manager_prune(km, "nope", 1), CODOMYRMEX_ERR_NOT_FOUND);

    /* A tag made with version 5 still verifies after rotating to 6. */
    CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, "k", CODOMYRMEX_SHA256, DATA, sizeof DATA,
                                                tag_v5, sizeof tag_v5, &tag_len));
    CHECK_OK(codomyrmex_random_bytes(new_key, sizeof new_key));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "k", new_key, sizeof new_key, old, sizeof old,
                                           &old_len));
    CHECK_INT(current_version(km, "k"), 6);
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                       sizeof DATA, tag_v5, sizeof tag_v5));
    CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, "k", CODOMYRMEX_SHA256, DATA, sizeof DATA,
                                                tag_v6, sizeof tag_v6, &tag_len));
    CHECK(tag_v6[4] == 6);

    /* Keep the newest three: 4, 5, 6. Then two: 5, 6. Nothing else holds
     * the pruned bytes anywhere in the key directory. */
    CHECK_OK(codomyrmex_key_manager_prune(km, "k", 3));
    {
        static const uint32_t newest_three[] = {4, 5, 6};

        expect_versions(km, "k", newest_three, 3);
    }
    for (v = 1; v <= 3; v++) {
        uint8_t got[64];
        size_t got_len = 999;

        CHECK_STATUS(codomyrmex_key_manager_get_version(km, "k", v, got, sizeof got, &got_len),
                     CODOMYRMEX_ERR_NOT_FOUND);
        CHECK_SIZE(got_len, 999);
        CHECK_INT(files_holding(dir, keys[v - 1], KEY_LEN), 0);
    }
    /* Pruning to more than there are changes nothing. */
    CHECK_OK(codomyrmex_key_manager_prune(km, "k", 100));
    CHECK_OK(codomyrmex_key_manager_prune(km, "k", 2));
    {
        static const uint32_t kept[] = {5, 6};

        expect_versions(km, "k", kept, 2);
    }
    CHECK_INT(files_holding(dir, keys[3], KEY_LEN), 0);
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                       sizeof DATA, tag_v5, sizeof tag_v5));
    /* Keep only the current one: the version-5 tag stops verifying. */
    CHECK_OK(codomyrmex_key_manager_prune(km, "k", 1));
    expect_versions(km, "k", only_current, 1);
    CHECK_INT(current_version(km, "k"), 6);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                           sizeof DATA, tag_v5, sizeof tag_v5),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                       sizeof DATA, tag_v6, sizeof tag_v6));
    CHECK_INT(files_holding(dir, keys[4], KEY_LEN), 0);
    expect_version_bytes(km, "k", 6, new_key, sizeof new_key);
    /* Numbering continues after a prune. */
    CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[0], KEY_LEN, old, sizeof old,
                                           &old_len));
    CHECK_INT(current_version(km, "k"), 7);
    check_modes(dir);

    check_section("delete removes every version");
    CHECK_OK(codomyrmex_key_manager_delete(km, "k"));
    CHECK_INT(files_holding(dir, new_key, sizeof new_key), 0);
    CHECK_INT(files_holding(dir, keys[0], KEY_LEN), 0);
    CHECK_STATUS(codomyrmex_key_manager_current_version(km, "k", &v),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                           sizeof DATA, tag_v6, sizeof tag_v6),
                 CODOMYRMEX_ERR_NOT_FOUND);
    /* A new key under the same id starts again at version 1, and old
     * tags do not verify with it. */
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[1], KEY_LEN));
    CHECK_INT(current_version(km, "k"), 1);
    {
        static const uint32_t one[] = {1};

        expect_versions(km, "k", one, 1);
    }
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, DATA,
                                                           sizeof DATA, tag_v6, sizeof tag_v6),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
}

/* ---------------------------------------------------------------------------
 * list_versions buffer rule; NULL pointers; invalid ids.
 */
static void test_arguments(const codomyrmex_key_manager *km)
{
    static const uint8_t key[] = "argument key";
    uint32_t out[4] = {7, 7, 7, 7};
    uint32_t version = 77;
    size_t count = 999;
    uint8_t buf[64];
    size_t len = 999;
    uint8_t old[64];
    size_t old_len = 0;

    check_section("list_versions buffer rule");
    CHECK_OK(codomyrmex_key_manager_store(km, "args", key, sizeof key));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "args", key, 5, old, sizeof old, &old_len));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "args", key, 6, old, sizeof old, &old_len));
    count = 0;
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, "args", NULL, 0, &count),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(count, 3);
    count = 0;
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, "args", out, 2, &count),
                 CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    CHECK_SIZE(count, 3);
    CHECK(out[0] == 7 && out[1] == 7 && out[2] == 7 && out[3] == 7);
    CHECK_OK(codomyrmex_key_manager_list_versions(km, "args", out, 4, &count));
    CHECK_SIZE(count, 3);
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 7);

    check_section("versions: NULL pointers");
    count = 999;
    CHECK_STATUS(codomyrmex_key_manager_current_version(NULL, "args", &version),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_current_version(km, NULL, &version),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_current_version(km, "args", NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_INT(version, 77);
    CHECK_STATUS(codomyrmex_key_manager_get_version(NULL, "args", 1, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get_version(km, NULL, 1, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get_version(km, "args", 1, buf, sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_get_version(km, "args", 1, NULL, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, 999);
    CHECK_STATUS(codomyrmex_key_manager_list_versions(NULL, "args", out, 4, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, NULL, out, 4, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, "args", out, 4, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, "args", NULL, 4, &count),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(count, 999);
    CHECK_STATUS(codomyrmex_key_manager_prune(NULL, "args", 1), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_prune(km, NULL, 1), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_version(NULL, "args", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                     buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, "args", 1, CODOMYRMEX_SHA256, NULL, 3,
                                                     buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, "args", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                     buf, sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive_version(NULL, "args", 1, CODOMYRMEX_SHA256, NULL,
                                                       0, NULL, 0, buf, 16),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_derive_version(km, "args", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                       NULL, 0, NULL, 16),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_tagged(NULL, "args", CODOMYRMEX_SHA256, NULL, 0,
                                                    buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_tagged(km, "args", CODOMYRMEX_SHA256, NULL, 0, buf,
                                                    sizeof buf, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(NULL, "args", CODOMYRMEX_SHA256, NULL,
                                                           0, buf, 37),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "args", CODOMYRMEX_SHA256, NULL,
                                                           0, NULL, 37),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, 999);

    check_section("versions: invalid key ids");
    CHECK_STATUS(codomyrmex_key_manager_current_version(km, "../args", &version),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_get_version(km, ".versions", 1, buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_list_versions(km, "a/b", out, 4, &count),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_prune(km, "", 1), CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_hmac_version(km, " x", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                     buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_derive_version(km, "x\\y", 1, CODOMYRMEX_SHA256, NULL, 0,
                                                       NULL, 0, buf, 16),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_hmac_tagged(km, ".hidden", CODOMYRMEX_SHA256, NULL, 0,
                                                    buf, sizeof buf, &len),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "..", CODOMYRMEX_SHA256, NULL, 0,
                                                           buf, 37),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK_INT(version, 77);
    CHECK_SIZE(len, 999);
}

int main(void)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    size_t i;

    make_temp_dir("versions", base);
    for (i = 0; i < VERSIONS; i++) {
        CHECK_OK(codomyrmex_random_bytes(keys[i], KEY_LEN));
    }
    CHECK_OK(codomyrmex_random_bytes(other_key, KEY_LEN));
    path_join(dir, base, "keys");
    if (CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        test_numbering(km, dir);
        test_legacy_file(km, dir);
        test_versioned_use(km);
        test_tagged(km);
        test_prune_and_delete(km, dir);
        test_arguments(km);
        codomyrmex_key_manager_free(km);
    }
    check_section("cleanup");
    CHECK(remove_tree(base));
    return check_summary("test_versions");
}
