/* Helpers declared in test_util.h. */
#define _XOPEN_SOURCE 700

#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;
    int high = -1;

    for (; *hex != '\0'; hex++) {
        int digit;

        if (*hex == ' ' || *hex == '\n' || *hex == '\t') {
            continue;
        }
        digit = hex_digit(*hex);
        if (digit < 0) {
            fprintf(stderr, "hex_decode: bad hex character '%c'\n", *hex);
            abort();
        }
        if (high < 0) {
            high = digit;
            continue;
        }
        if (len == cap) {
            fprintf(stderr, "hex_decode: output of %zu bytes is too small\n", cap);
            abort();
        }
        out[len++] = (uint8_t)(high << 4 | digit);
        high = -1;
    }
    if (high >= 0) {
        fprintf(stderr, "hex_decode: odd number of hex digits\n");
        abort();
    }
    return len;
}

uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

void test_rand_fill(uint64_t *state, uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(test_rand(state) >> 56);
    }
}

void path_join(char out[TEST_PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, TEST_PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= TEST_PATH_MAX) {
        fprintf(stderr, "path_join: path too long: %s/%s\n", dir, name);
        abort();
    }
}

void make_temp_dir(const char *tag, char out[TEST_PATH_MAX])
{
    const char *base = getenv("TMPDIR");
    char name[256];

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(name, sizeof name, "codomyrmex-c-%s-XXXXXX", tag);
    path_join(out, base, name);
    if (mkdtemp(out) == NULL) {
        fprintf(stderr, "mkdtemp(%s) failed: %s\n", out, strerror(errno));
        abort();
    }
}

bool remove_tree(const char *path)
{
    struct stat st;
    DIR *dir;
    struct dirent *entry;
    bool ok = true;

    if (lstat(path, &st) != 0) {
        return errno == ENOENT;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0;
    }
    /* A test may have made the directory unreadable or unwritable. */
    (void)chmod(path, 0700);
    dir = opendir(path);
    if (dir == NULL) {
        return false;
    }
    while ((entry = readdir(dir)) != NULL) {
        char child[TEST_PATH_MAX];

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        path_join(child, path, entry->d_name);
        ok = remove_tree(child) && ok;
    }
    closedir(dir);
    return rmdir(path) == 0 && ok;
}

bool write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *bytes = data;
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = true;
    while (len > 0) {
        ssize_t n = write(fd, bytes, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            ok = false;
            break;
        }
        bytes += n;
        len -= (size_t)n;
    }
    ok = fchmod(fd, mode) == 0 && ok;
    return close(fd) == 0 && ok;
}

bool path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

int path_mode(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return -1;
    }
    return (int)(st.st_mode & 07777);
}

int count_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    int count = 0;

    if (dir == NULL) {
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            count++;
        }
    }
    closedir(dir);
    return count;
}
