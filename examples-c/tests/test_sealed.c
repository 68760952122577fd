/*
 * Keys sealed at rest: codomyrmex_open_options_set_kek_file,
 * _set_kek_credential, _set_require_sealed and
 * codomyrmex_key_manager_seal_all, through the header.
 */
#define _XOPEN_SOURCE 700

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

static const uint8_t MAGIC[8] = {0x89, 'C', 'D', 'X', 'S', 'E', 'A', 'L'};

/* Writes `len` bytes of `byte` to base/name with `mode`. */
static void write_kek(char path[TEST_PATH_MAX], const char *name, uint8_t byte, size_t len, mode_t mode)
{
    uint8_t bytes[64];
    int fd;

    path_join(path, base, name);
    memset(bytes, byte, sizeof bytes);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (CHECK(fd >= 0)) {
        CHECK(write(fd, bytes, len) == (ssize_t)len);
        CHECK(fchmod(fd, mode) == 0);
        close(fd);
    }
}

/* The first bytes of base/keys/<name>. */
static bool starts_sealed(const char *name)
{
    char dir[TEST_PATH_MAX], path[TEST_PATH_MAX];
    uint8_t head[8] = {0};
    int fd;
    bool sealed;

    path_join(dir, base, "keys");
    path_join(path, dir, name);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return false;
    }
    sealed = read(fd, head, sizeof head) == (ssize_t)sizeof head && memcmp(head, MAGIC, 8) == 0;
    close(fd);
    return sealed;
}

static codomyrmex_status open_keys(const char *kek, bool require, codomyrmex_key_manager **km)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_open_options *opts = NULL;
    codomyrmex_status st;

    path_join(dir, base, "keys");
    if (!CHECK_OK(codomyrmex_open_options_new(&opts))) {
        return CODOMYRMEX_ERR_INTERNAL;
    }
    if (kek != NULL) {
        CHECK_OK(codomyrmex_open_options_set_kek_file(opts, kek));
    }
    CHECK_OK(codomyrmex_open_options_set_require_sealed(opts, require));
    st = codomyrmex_key_manager_open_with(dir, opts, km);
    codomyrmex_open_options_free(opts);
    return st;
}

static void test_setters(void)
{
    codomyrmex_open_options *opts = NULL;

    check_section("setters: NULL handling");
    CHECK_STATUS(codomyrmex_open_options_set_kek_file(NULL, "x"), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_kek_credential(NULL, "x"), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_require_sealed(NULL, true), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_key_manager_seal_all(NULL, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    if (CHECK_OK(codomyrmex_open_options_new(&opts))) {
        CHECK_STATUS(codomyrmex_open_options_set_kek_file(opts, NULL), CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_STATUS(codomyrmex_open_options_set_kek_credential(opts, NULL), CODOMYRMEX_ERR_NULL_POINTER);
        codomyrmex_open_options_free(opts);
    }
}

static void test_kek_files(void)
{
    char short_kek[TEST_PATH_MAX], loose_kek[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;

    check_section("KEK files are checked when the key manager opens");
    write_kek(short_kek, "short.kek", 1, 31, 0600);
    write_kek(loose_kek, "loose.kek", 1, 32, 0644);
    CHECK_STATUS(open_keys(short_kek, false, &km), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(open_keys(loose_kek, false, &km), CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK(km == NULL);
}

static void test_sealing(void)
{
    char kek[TEST_PATH_MAX], other[TEST_PATH_MAX];
    codomyrmex_key_manager *plain = NULL, *km = NULL, *strict = NULL, *wrong = NULL;
    static const uint8_t old_key[] = "written plain, before any KEK";
    static const uint8_t new_key[] = "sealed from the first write";
    uint8_t out[64];
    size_t len = 0, count = 99;
    uint32_t version = 0;

    check_section("plain and sealed files, seal_all, require_sealed");
    write_kek(kek, "main.kek", 0x42, 32, 0400);
    write_kek(other, "other.kek", 0x43, 32, 0600);
    if (!CHECK_OK(open_keys(NULL, false, &plain))) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(plain, "old", old_key, sizeof old_key));
    CHECK_STATUS(codomyrmex_key_manager_seal_all(plain, &count), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_SIZE(count, 99);
    codomyrmex_key_manager_free(plain);

    if (!CHECK_OK(open_keys(kek, false, &km))) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "new", new_key, sizeof new_key));
    CHECK(starts_sealed("new.key"));
    CHECK(!starts_sealed("old.key"));
    CHECK_OK(codomyrmex_key_manager_get(km, "old", out, sizeof out, &len));
    CHECK_BYTES(out, old_key, sizeof old_key);

    CHECK_OK(open_keys(kek, true, &strict));
    CHECK_STATUS(codomyrmex_key_manager_get(strict, "old", out, sizeof out, &len), CODOMYRMEX_ERR_CORRUPT);
    CHECK_OK(codomyrmex_key_manager_seal_all(km, &count));
    CHECK_SIZE(count, 1);
    CHECK(starts_sealed("old.key"));
    CHECK_OK(codomyrmex_key_manager_seal_all(km, &count));
    CHECK_SIZE(count, 0);
    CHECK_OK(codomyrmex_key_manager_get(strict, "old", out, sizeof out, &len));
    CHECK_BYTES(out, old_key, sizeof old_key);

    /* Versions are listed without a KEK; keys are not read with a wrong one. */
    CHECK_OK(codomyrmex_key_manager_rotate(km, "new", old_key, sizeof old_key, out, sizeof out, &len));
    CHECK_OK(open_keys(other, false, &wrong));
    CHECK_STATUS(codomyrmex_key_manager_get(wrong, "new", out, sizeof out, &len), CODOMYRMEX_ERR_CORRUPT);
    CHECK_OK(codomyrmex_key_manager_current_version(wrong, "new", &version));
    CHECK_INT(version, 2);
    codomyrmex_key_manager_free(wrong);
    codomyrmex_key_manager_free(strict);
    codomyrmex_key_manager_free(km);
}

static void test_credential(void)
{
    char creds[TEST_PATH_MAX], kek[TEST_PATH_MAX], dir[TEST_PATH_MAX];
    codomyrmex_open_options *opts = NULL;
    codomyrmex_key_manager *km = NULL;
    char *old = getenv("CREDENTIALS_DIRECTORY");

    check_section("a systemd credential as the KEK");
    path_join(creds, base, "credentials");
    CHECK(mkdir(creds, 0700) == 0);
    path_join(kek, creds, "keys.kek");
    {
        int fd = open(kek, O_WRONLY | O_CREAT | O_TRUNC, 0400);
        uint8_t bytes[32];

        memset(bytes, 0x42, sizeof bytes);
        if (CHECK(fd >= 0)) {
            CHECK(write(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
            close(fd);
        }
    }
    CHECK(chmod(creds, 0500) == 0);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    path_join(dir, base, "keys");
    if (CHECK_OK(codomyrmex_open_options_new(&opts))) {
        CHECK_STATUS(codomyrmex_open_options_set_kek_credential(opts, "../keys.kek"),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(codomyrmex_open_options_set_kek_credential(opts, ""), CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_OK(codomyrmex_open_options_set_kek_credential(opts, "keys.kek"));
        if (CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &km))) {
            uint8_t out[64];
            size_t len = 0;

            /* The same KEK as main.kek: it reads what that one sealed. */
            CHECK_OK(codomyrmex_key_manager_get(km, "old", out, sizeof out, &len));
            codomyrmex_key_manager_free(km);
        }
        codomyrmex_open_options_free(opts);
    }
    if (old != NULL) {
        setenv("CREDENTIALS_DIRECTORY", old, 1);
    } else {
        unsetenv("CREDENTIALS_DIRECTORY");
    }
    CHECK(chmod(creds, 0700) == 0);
}

int main(void)
{
    make_temp_dir("sealed", base);
    test_setters();
    test_kek_files();
    test_sealing();
    test_credential();
    remove_tree(base);
    return check_summary("test_sealed");
}
