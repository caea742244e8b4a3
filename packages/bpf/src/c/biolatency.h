#ifndef BIOLATENCY_H
#define BIOLATENCY_H
#include "bpfscope.h"

#define BIO_MAX_SLOTS 27

struct bio_cfg {
	__u8 queued;        /* -Q: from block_rq_insert (queue time included) */
	__u8 per_disk;      /* -D */
	__u8 per_flag;      /* -F */
	__u8 milliseconds;  /* -m */
	__u32 pad;
};

/* Request flags as reported to user space: the op in the low byte, then these bits
 * (kernel bit positions are resolved with CO-RE, so they do not depend on the kernel version). */
#define BIO_OP_MASK       0xff
#define BIO_F_SYNC        (1u << 8)
#define BIO_F_META        (1u << 9)
#define BIO_F_PRIO        (1u << 10)
#define BIO_F_NOMERGE     (1u << 11)
#define BIO_F_IDLE        (1u << 12)
#define BIO_F_FUA         (1u << 13)
#define BIO_F_PREFLUSH    (1u << 14)
#define BIO_F_RAHEAD      (1u << 15)
#define BIO_F_BACKGROUND  (1u << 16)
#define BIO_F_NOWAIT      (1u << 17)

struct bio_key {
	__u32 dev;          /* (major << 20) | minor when per_disk, else 0 */
	__u32 flags;        /* BIO_* when per_flag, else 0 */
};

struct bio_hist {
	__u32 slots[BIO_MAX_SLOTS];
	__u32 pad;
};

#endif
