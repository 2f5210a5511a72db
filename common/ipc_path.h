/* Where an ipc:// socket may be bound (docs/security.md, section 2): an
 * ipc socket is as private as the directory that holds it, since its own
 * mode follows the umask (srwxrwxrwx under umask 0) and libzmq sets none.
 * So a server binds one only in a directory that belongs to its user and
 * that no group or other user can enter or list (mode 0700, like the
 * runtime directory), and never in Linux's abstract namespace
 * (ipc://@name), which has no permissions at all. With the opt-in sharing
 * (DUCTWATCH_RUNTIME_GROUP, docs/security.md section 9) a directory of its
 * user, of that group, mode 0750, is accepted too: the group may connect
 * (with umask 0007), nobody else may enter. */
#pragma once

/* For an ipc:// endpoint: 0 when its directory is private or shared as
 * above (or does
 * not exist: binding will say so), -EPERM with a one-line reason in *why
 * (static) otherwise. 0 for any other transport. */
int dw_ipc_endpoint_check(const char *endpoint, const char **why);
