// Package shm is Python's SharedMemoryManager for mgr: blocks of shared memory that are
// objects in the manager, so that a block lives exactly as long as mgr's references to
// it, and that processes on the manager's machine map zero-copy.
//
//	b, err := shm.CreateBlock(ctx, c, 64<<20) // a Block in the manager: a memfd of 64 MiB
//	m, err := shm.Open(ctx, b)                // this process's mapping of it
//	defer m.Close()
//	buf := m.Bytes()                          // []byte over the shared pages
//	xs, err := shm.View[float64](m)           // or a typed view: []float64 over them
//
// Hand the block to another process like any proxy (a Spawn argument, a Token, a value
// in a shared container); there, Open maps the same pages: a write in one process is
// seen by the other at once, with no copy and no call.
//
// # Lifetime
//
// A Block owns a memfd (memfd_create(2)) in the manager process. The manager closes it
// when the block's last reference goes — the last proxy closed, or every process that
// held one gone, however it went (kill -9 included: the manager drops a dead session's
// references). Mappings that exist then stay valid until they are closed (the kernel
// frees the memory with the last mapping), like Python's SharedMemory after unlink(),
// but nobody can Open the block any more. Unlike Python there is no name in /dev/shm to
// leak: a crash leaves nothing behind.
//
// # Recycling
//
// A fresh block's memory costs the kernel a page allocation and a page clear for every
// 4 KiB page (16,384 for 64 MiB), more than the copy into it. So the manager keeps the
// memfds of released blocks in a pool, and a new block takes the smallest that holds it
// (cut to its size) instead of fresh memory. What that guarantees:
//
//   - A new block is all zeros, never a previous block's bytes: the pool clears a memfd
//     when it takes it in (in the manager, after the release, not on the next Create).
//   - A pooled memfd belongs to the manager alone. It is taken in only when none of the
//     processes that asked for the block's Desc maps it any more (their /proc/<pid>/maps;
//     holders that were kill -9'ed map nothing) — a mapping that outlives its block keeps
//     the memory it has, and that memfd is closed, never pooled; it moves to another
//     descriptor number, so a stale /proc/<pid>/fd/<n> no longer names it; and Open,
//     after mapping, checks that the block is still alive. No client can see a pooled
//     memfd or a later block through an earlier one.
//   - "Unlinked when the last reference goes" then means: no process but the manager can
//     reach the memory, and the manager frees it when the pool is full
//     (PoolOptions.MaxBytes, default 256 MiB, and at most 16 memfds), when it waited
//     MaxIdle (default 30 s) for a new block, or when the manager shuts down.
//
// Set the bounds, or turn the pool off (MaxBytes < 0), with SetPool from an Initializer
// or Options{Initializer: shm.PoolInitializer, InitArg: shm.PoolOptions{…}}.
//
// Fresh memory is allocated when the block is made (fallocate: a machine without the
// memory fails CreateBlock instead of a later write with SIGBUS), and Open fills the
// mapping's page tables in one go (MAP_POPULATE; a block of 32 MiB or more by several
// threads at once, each a range, as Close clears them) rather than one fault per page: a
// block's whole size is memory from the start, not as it is touched.
//
// # How a client gets the memfd
//
// mgr's transport carries bytes, not file descriptors, so a client opens the manager's
// descriptor through procfs: /proc/<manager pid>/fd/<n>, which Linux lets a process open
// when it may inspect the manager (ptrace access mode "read" with the filesystem
// credentials: the same user, or root / CAP_SYS_PTRACE, and the manager not made
// non-dumpable). The alternatives were weighed:
//
//   - pidfd_getfd(2) needs ptrace *attach* rights, which Yama (ptrace_scope=1, Ubuntu's
//     default) refuses to everyone but the manager's ancestors — and a worker is the
//     manager's sibling, not its parent. It also needs Linux 5.6.
//   - SCM_RIGHTS over the Unix socket is the textbook way, but it needs the transport to
//     carry ancillary data; it is the right long-term answer for mgr's own socket.
//
// Security: the procfs route grants nothing new. Any process that may open
// /proc/<pid>/fd/<n> may also read the manager's memory and every descriptor it holds;
// the authkey still guards the manager's calls, but a block's bytes are as private as
// the manager process itself — the same user and root can reach them, as with Python's
// /dev/shm files of mode 0600. Do not put secrets in blocks of a manager shared with
// other users.
//
// Open checks before it maps: the manager must be on this machine (same boot ID, not a
// TCP address of another host) and the file it opened must be the block's memfd (same
// inode), so a client in another PID namespace never maps some other process's file.
// Anything else fails with ErrNotLocal or ErrAccess — never a silent copy. Use a
// []byte method (or a Queue[[]byte]) across machines.
//
// Blocks need Linux; elsewhere CreateBlock and Open fail with ErrUnsupported.
package shm

//go:generate go tool mgrgen
