/* endpoint.c: the opt-in group sharing of the runtime directory
 * (docs/security.md): DUCTWATCH_RUNTIME_GROUP makes it 0750 with that
 * group; a directory another user shares with one of our groups is
 * accepted when named; anything looser is still refused. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dwcmocka.h"
#include "endpoint.h"
#include "ipc_path.h"

static char base[256];

static int setup(void **state)
{
    (void)state;
    if (dw_test_mkdtemp(base, sizeof(base), "dwgroup") < 0)
        return -1;
    unsetenv("DUCTWATCH_RUNTIME_GROUP");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return dw_test_rmtree(base);
}

/* The name of a group we are in. */
static const char *our_group(void)
{
    struct group *g = getgrgid(getgid());
    return g ? g->gr_name : NULL;
}

/* want (0750) made group-writable, where anyone in the group could plant
 * a socket, or opened to others: refused; 0750 again after. */
static void refuses_loose_modes(const char *want)
{
    char dir[300];

    assert_int_equal(chmod(want, 0770), 0);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    assert_int_equal(chmod(want, 0755), 0);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    assert_int_equal(chmod(want, 0750), 0);
}

static void test_opt_in_group(void **state)
{
    char want[300], dir[300], ep[320];
    const char *why = NULL;
    struct stat st;
    const char *grp = our_group();
    (void)state;
    if (!grp)
        skip();
    snprintf(want, sizeof(want), "%s/shared", base);
    setenv("DUCTWATCH_RUNTIME_DIR", want, 1);
    setenv("DUCTWATCH_RUNTIME_GROUP", grp, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(st.st_gid, getgid());
    /* the services again: fine, and they may bind their sockets in it */
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    snprintf(ep, sizeof(ep), "ipc://%s/acquire", want);
    assert_int_equal(dw_ipc_endpoint_check(ep, &why), 0);
    /* group write or access for others: never */
    refuses_loose_modes(want);
    assert_int_equal(chmod(want, 0770), 0);
    assert_int_equal(dw_ipc_endpoint_check(ep, &why), -EPERM);
    assert_int_equal(chmod(want, 0750), 0);
    /* without the opt-in, our own 0750 directory is refused as before */
    unsetenv("DUCTWATCH_RUNTIME_GROUP");
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    assert_int_equal(dw_ipc_endpoint_check(ep, &why), -EPERM);
    assert_non_null(strstr(why, "not private"));
    /* a group that does not exist is an error, not a silent 0700 */
    setenv("DUCTWATCH_RUNTIME_GROUP", "no-such-group-dw", 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EINVAL);
    unsetenv("DUCTWATCH_RUNTIME_GROUP");
}

/* Another user's directory (made by root here: needs root). */
static void test_follow_the_services(void **state)
{
    char want[300], dir[300];
    (void)state;
    if (geteuid() != 0)
        skip();
    snprintf(want, sizeof(want), "%s/run-ductwatch", base);
    assert_int_equal(mkdir(want, 0750), 0);
    /* owned by nobody, group: ours, r-x */
    assert_int_equal(chown(want, 65534, getgid()), 0);
    assert_int_equal(chmod(want, 0750), 0);
    setenv("DUCTWATCH_RUNTIME_DIR", want, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    refuses_loose_modes(want);
    /* a group we are not in */
    assert_int_equal(chown(want, 65534, 65534), 0);
    if (getgid() != 65534)
        assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    /* not named: the default places are never another user's */
    assert_int_equal(chown(want, 65534, getgid()), 0);
    unsetenv("DUCTWATCH_RUNTIME_DIR");
    setenv("XDG_RUNTIME_DIR", base, 1);
    snprintf(want, sizeof(want), "%s/ductwatch", base);
    assert_int_equal(mkdir(want, 0750), 0);
    assert_int_equal(chown(want, 65534, getgid()), 0);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opt_in_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_the_services, setup, teardown),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
