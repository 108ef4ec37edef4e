#ifndef C_EDGE_EXECUTOR_HOOK_H
#define C_EDGE_EXECUTOR_HOOK_H

#include <stdbool.h>

/// Sets the Swift runtime's `swift_task_enqueueGlobal_hook` (where Swift concurrency sends jobs
/// that have no executor of their own) to `hook`, unless a hook is already set. Returns whether
/// it set it. The edge agent links the Swift runtime statically with every archive symbol
/// hidden (-static-stdlib: --exclude-libs ALL), so the hook cannot be found with dlsym as NIO's
/// own installer does; a reference resolved at link time reaches it.
bool edge_install_enqueue_global_hook(const void *_Nonnull hook);

#endif
