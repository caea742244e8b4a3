/* The unwind-table contract shared by the BPF walker (C) and the table generator
 * (packages/bpf/src/unwind/format.ts, which mirrors every constant here). Owned by the table generator.
 *
 * One table per ELF object (keyed by build-id when it has one). Rows are 12 bytes, little-endian,
 * sorted by pc (strictly increasing). A row covers [row.pc, next_row.pc). pc is in the object's ELF
 * virtual address space (like symbol values and p_vaddr): runtime address = load bias + pc.
 * Address ranges without an FDE get a row with cfa_kind UNWIND_CFA_INVALID, so the lookup is
 * "the last row with row.pc <= pc"; a pc before the first row, or at/after the last row (which is
 * always an INVALID terminator row after the end of the last FDE), has no rule.
 * Refinement (generator revision 2): gaps shorter than 16 bytes between FDEs (alignment padding
 * between functions, never executed) get no INVALID row; the preceding row extends over them.
 *
 * Frame step (x86-64): compute CFA from cfa_kind/cfa_off; the return address is at CFA - 8 (always:
 * CFI where it is elsewhere is emitted as an INVALID row); the caller's rsp is CFA; the caller's rbp
 * follows rbp_kind; the caller's frame is looked up at (return address - 1) except after a SIGNAL frame.
 *
 * Refinements to this header are allowed only if they keep the row layout; say so in the commit.
 */
#ifndef BPFSCOPE_UNWIND_H
#define BPFSCOPE_UNWIND_H

/* How the CFA (canonical frame address = caller's rsp) is found. */
enum unwind_cfa_kind {
	UNWIND_CFA_INVALID = 0,   /* no rule / unsupported CFI form: the walk ends ("no rule" / "unsupported rule") */
	UNWIND_CFA_RSP = 1,       /* CFA = rsp + cfa_off */
	UNWIND_CFA_RBP = 2,       /* CFA = rbp + cfa_off */
	UNWIND_CFA_PLT = 3,       /* CFA = rsp + 8 + (((rip & 15) >= 11) ? 8 : 0)  (.plt lazy-binding stubs) */
	UNWIND_CFA_DEREF_RBP = 4, /* CFA = *(u64 *)(rbp + cfa_off)  (DRAP / realigned frames: DW_OP_breg6 off; DW_OP_deref) */
	UNWIND_CFA_SIGNAL = 5,    /* signal trampoline (CIE augmentation 'S', e.g. __restore_rt): the interrupted
	                           * registers are read from the rt_sigframe's ucontext at rsp; the next frame's
	                           * pc is looked up as is (not pc - 1) */
	UNWIND_CFA_STOP = 6,      /* outermost frame (return address undefined: _start, thread start): stack complete */
};

/* How the caller's rbp is found. */
enum unwind_rbp_kind {
	UNWIND_RBP_SAME = 0,      /* caller's rbp = current rbp */
	UNWIND_RBP_OFFSET = 1,    /* caller's rbp is saved at *(u64 *)(CFA + rbp_off) */
	UNWIND_RBP_UNDEFINED = 2, /* caller's rbp unknown: a later RBP-based CFA rule fails ("unsupported") */
};

/* x86-64 rt_sigframe: offsets from rsp (at the trampoline's first instruction) of the saved registers. */
#define UNWIND_SIGFRAME_UC_MCONTEXT 40
#define UNWIND_SIGFRAME_RBP (UNWIND_SIGFRAME_UC_MCONTEXT + 80)
#define UNWIND_SIGFRAME_RSP (UNWIND_SIGFRAME_UC_MCONTEXT + 120)
#define UNWIND_SIGFRAME_RIP (UNWIND_SIGFRAME_UC_MCONTEXT + 128)

struct unwind_row {
	__u32 pc;        /* start of the covered range, ELF virtual address (object-relative) */
	__s32 cfa_off;
	__s16 rbp_off;   /* meaningful when rbp_kind == UNWIND_RBP_OFFSET */
	__u8 cfa_kind;   /* enum unwind_cfa_kind */
	__u8 rbp_kind;   /* enum unwind_rbp_kind */
};

#define UNWIND_ROW_SIZE 12

#endif
