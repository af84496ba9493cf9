/*
 * insn_count — a QEMU TCG plugin that counts guest instructions between two
 * marker syscalls, for `python -m albert_edge.benchmark arm`.
 *
 * Why a plugin and not "whole process minus a baseline": starting Python, numpy
 * and LiteRT under emulation executes ~2e9 instructions whose count wobbles by
 * ±0.5 M from run to run, more than the difference we want to see between two
 * exports.  Bracketing each Invoke with a marker syscall that this plugin
 * recognises gives a count that is exactly repeatable.
 *
 * Protocol (the guest calls syscall(ALBERT_MARK_NR, ALBERT_MARK_MAGIC, op, tag)):
 *   op 1  begin: remember the counters
 *   op 2  end:   append "tag total class1 class2 ... vcpus" to the output file
 * The syscall number is unknown to Linux and qemu, so the guest just gets
 * -ENOSYS back; nothing else happens.
 *
 * Counting is done inline (no helper call per instruction): at translation time
 * every translation block gets one "add N" per counter, N being the number of
 * its instructions in that class.  Inline adds are not atomic, so the counts are
 * exact only while one guest thread runs (the runner pins LiteRT and OpenBLAS
 * to one thread; the "vcpus" column lets the caller check).
 *
 * Plugin arguments: out=PATH (required).
 * Built against qemu-plugin.h, plugin API version 1 (QEMU 7.x, Debian bookworm).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define ALBERT_MARK_NR 0xA1BE
#define ALBERT_MARK_MAGIC 0x616c6265u /* "albe" */
#define OP_BEGIN 1
#define OP_END 2

/* One AArch64 encoding class: (insn & mask) == value. */
typedef struct {
    const char *name;
    uint32_t mask;
    uint32_t value;
} Pattern;

/* Classes are counted independently: an SDOT is also "simd_fp". */
enum { C_DOT, C_MMLA, C_MLAL, C_MULL, C_FMLA, C_SIMD_FP, C_SVE, C_SME, C_LOAD_STORE, C_BRANCH, N_CLASSES };
static const char *const class_names[N_CLASSES] = {
    "dot", "mmla", "mlal", "mull", "fmla", "simd_fp", "sve", "sme", "load_store", "branch",
};

/* Arm ARM encodings (Advanced SIMD); each entry names the class it feeds. */
static const struct {
    int cls;
    Pattern p;
} patterns[] = {
    {C_DOT, {"sdot/udot (vector)", 0x9FE0FC00u, 0x0E809400u}},
    {C_DOT, {"sdot/udot (element)", 0x9FC0F400u, 0x0F80E000u}},
    {C_MMLA, {"smmla/ummla/usmmla", 0xDFE0F400u, 0x4E80A400u}},
    {C_MLAL, {"smlal/umlal{2} (vector)", 0x9F20FC00u, 0x0E208000u}},
    {C_MLAL, {"smlal/umlal{2} (element)", 0x9F00F400u, 0x0F002000u}},
    {C_MULL, {"smull/umull{2} (vector)", 0x9F20FC00u, 0x0E20C000u}},
    {C_MULL, {"smull/umull{2} (element)", 0x9F00F400u, 0x0F00A000u}},
    {C_FMLA, {"fmla s/d (vector)", 0xBFA0FC00u, 0x0E20CC00u}},
    {C_FMLA, {"fmla h (vector)", 0xBFE0FC00u, 0x0E400C00u}},
    {C_FMLA, {"fmla s/d (element)", 0xBF80F400u, 0x0F801000u}},
    {C_FMLA, {"fmla h (element)", 0xBFC0F400u, 0x0F001000u}},
};

static uint64_t total;               /* every executed instruction */
static uint64_t counts[N_CLASSES];   /* per class */
static uint64_t begin_total, begin_counts[N_CLASSES];
static unsigned int vcpus_seen;
static FILE *out;

static void classify(uint32_t insn, uint32_t *tally)
{
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if ((insn & patterns[i].p.mask) == patterns[i].p.value) {
            tally[patterns[i].cls]++;
            break;
        }
    }
    uint32_t op0 = (insn >> 25) & 0xFu;  /* top-level encoding group, bits 28:25 */
    if ((op0 & 0x7u) == 0x7u) {
        tally[C_SIMD_FP]++;
    } else if (op0 == 0x2u) {
        tally[C_SVE]++;
    } else if (op0 == 0x0u && (insn >> 31)) {
        tally[C_SME]++;
    } else if ((op0 & 0x5u) == 0x4u) {
        tally[C_LOAD_STORE]++;
    } else if ((op0 & 0xEu) == 0xAu) {
        tally[C_BRANCH]++;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint32_t tally[N_CLASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint32_t word = 0;
        if (qemu_plugin_insn_size(insn) == sizeof(word)) {
            memcpy(&word, qemu_plugin_insn_data(insn), sizeof(word));
            classify(word, tally);
        }
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
    for (int c = 0; c < N_CLASSES; c++) {
        if (tally[c]) {
            qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &counts[c], tally[c]);
        }
    }
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu_index)
{
    vcpus_seen++;
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8)
{
    if (num != ALBERT_MARK_NR || a1 != ALBERT_MARK_MAGIC) {
        return;
    }
    if (a2 == OP_BEGIN) {
        begin_total = total;
        memcpy(begin_counts, counts, sizeof(counts));
    } else if (a2 == OP_END) {
        fprintf(out, "%" PRIu64 " %" PRIu64, a3, total - begin_total);
        for (int c = 0; c < N_CLASSES; c++) {
            fprintf(out, " %" PRIu64, counts[c] - begin_counts[c]);
        }
        fprintf(out, " %u\n", vcpus_seen);
        fflush(out);
    }
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
    if (out) {
        fclose(out);
        out = NULL;
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        }
    }
    if (!path || strcmp(info->target_name, "aarch64") != 0) {
        fprintf(stderr, "insn_count: needs out=PATH and an aarch64 guest (got %s)\n", info->target_name);
        return -1;
    }
    out = fopen(path, "w");
    if (!out) {
        perror(path);
        return -1;
    }
    fprintf(out, "# insn_count 1 tag total");
    for (int c = 0; c < N_CLASSES; c++) {
        fprintf(out, " %s", class_names[c]);
    }
    fprintf(out, " vcpus\n");
    fflush(out);
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
