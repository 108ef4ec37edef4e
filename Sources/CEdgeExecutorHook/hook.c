#include "CEdgeExecutorHook.h"

// Declared by the Swift runtime (include/swift/Runtime/Concurrency.h) as a function pointer with
// the Swift calling convention; only its address is handled here.
extern const void *swift_task_enqueueGlobal_hook;

bool edge_install_enqueue_global_hook(const void *hook) {
    return __atomic_compare_exchange_n(&swift_task_enqueueGlobal_hook, &(const void *){0}, hook, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
