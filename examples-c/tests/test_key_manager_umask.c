/*
 * The key manager under a restrictive umask, as an unprivileged user.
 *
 * The contract says the key directory is created (with parents) as mode
 * 0700 and key files are 0600 "whatever the umask". Root ignores permission
 * bits, so test_key_manager.c (which CI runs as root) cannot see whether a
 * file the library created with umask-narrowed bits is still usable by its
 * owner. Here each scenario runs in a child process that, when started as
 * root, drops to uid/gid 65534 first, sets the umask and then uses the
 * library in a directory that user owns.
 *
 * Exit status 77 (reported by ctest as "skipped") means the scenarios could
 * not run: the temporary directory is not reachable by uid 65534.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
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

#define UNPRIVILEGED_ID 65534
#define EXIT_UNREACHABLE 77

static char base[TEST_PATH_MAX];

/* Runs in the child: the scenario proper. `dir` does not exist yet. */
static void scenario(const char *dir, mode_t mask)
{
    static const uint8_t key1[] = "first key";
    static const uint8_t key2[] = "second key";
    codomyrmex_key_manager *km = NULL;
    char path[TEST_PATH_MAX];
    uint8_t old[64];
    size_t old_len = 0;

    umask(mask);
    if (!CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        return;
    }
    CHECK_INT(path_mode(dir), 0700);
    /* The first write creates the directory's bookkeeping files; the
     * later ones must still work. */
    CHECK_OK(codomyrmex_key_manager_store(km, "a", key1, sizeof key1));
    CHECK_OK(codomyrmex_key_manager_store(km, "a", key2, sizeof key2));
    CHECK_OK(codomyrmex_key_manager_create(km, "b", key1, sizeof key1));
    CHECK_OK(codomyrmex_key_manager_generate(km, "c", 32));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "a", key1, sizeof key1, old, sizeof old,
                                           &old_len));
    CHECK_OK(codomyrmex_key_manager_delete(km, "b"));
    path_join(path, dir, "a.key");
    CHECK_INT(path_mode(path), 0600);
    path_join(path, dir, "c.key");
    CHECK_INT(path_mode(path), 0600);
    /* Whatever the umask was then, the directory stays usable later. */
    umask(022);
    CHECK_OK(codomyrmex_key_manager_store(km, "a", key2, sizeof key2));
    CHECK_OK(codomyrmex_key_manager_rotate(km, "c", key1, sizeof key1, old, sizeof old,
                                           &old_len));
    codomyrmex_key_manager_free(km);
}

/* Runs `scenario(dir, mask)` in a child process as an unprivileged user;
 * returns the child's exit status (0: all checks passed). */
static int run_unprivileged(const char *what, const char *dir, mode_t mask, const char *owned)
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
        char section[256];
        unsigned long failures_before = check_failures();

        if (geteuid() == 0 &&
            (setgid(UNPRIVILEGED_ID) != 0 || setuid(UNPRIVILEGED_ID) != 0)) {
            perror("dropping privileges");
            _exit(2);
        }
        if (access(owned, W_OK | X_OK) != 0) {
            _exit(EXIT_UNREACHABLE);
        }
        snprintf(section, sizeof section, "%s, umask %04o, uid %ld", what, (unsigned)mask,
                 (long)geteuid());
        check_section(section);
        scenario(dir, mask);
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
    if (!WIFEXITED(status)) {
        fprintf(stderr, "%s: child died (status %d)\n", what, status);
        return 1;
    }
    return WEXITSTATUS(status);
}

int main(void)
{
    static const mode_t masks[] = {022, 077, 0177, 0277, 0477, 0777};
    char owned[TEST_PATH_MAX];
    size_t m;
    int unreachable = 0;
    int ran = 0;

    make_temp_dir("umask", base);
    /* A directory the unprivileged user owns, reachable through `base`. */
    path_join(owned, base, "owned");
    if (mkdir(owned, 0700) != 0 ||
        (geteuid() == 0 && (chown(owned, UNPRIVILEGED_ID, UNPRIVILEGED_ID) != 0 ||
                            chmod(base, 0711) != 0))) {
        perror("preparing the directory");
        return 1;
    }

    for (m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        char name[64];
        char dir[TEST_PATH_MAX];
        int result;
        int pass;

        for (pass = 0; pass < 2; pass++) {
            const char *what = pass == 0 ? "new key directory" : "new key directory and parents";

            snprintf(name, sizeof name, pass == 0 ? "keys-%03o" : "p-%03o/q/keys",
                     (unsigned)masks[m]);
            path_join(dir, owned, name);
            result = run_unprivileged(what, dir, masks[m], owned);
            if (result == EXIT_UNREACHABLE) {
                unreachable++;
                continue;
            }
            ran++;
            check_section(what);
            if (!CHECK_SIZE(result, 0)) {
                fprintf(stderr, "    umask %04o, directory %s\n", (unsigned)masks[m], dir);
            }
        }
    }

    /* Whatever the children left (possibly mode 0000 directories) goes. */
    check_section("cleanup");
    CHECK(remove_tree(base));
    if (ran == 0 && unreachable > 0) {
        printf("skipped: %s is not reachable by uid %d\n", base, UNPRIVILEGED_ID);
        return EXIT_UNREACHABLE;
    }
    return check_summary("test_key_manager_umask");
}
