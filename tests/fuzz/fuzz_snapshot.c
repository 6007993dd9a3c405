/*
 * fuzz_snapshot.c - libFuzzer harness for snapshot loading: any bytes in, an
 * engine or a documented snapshot error out, never a crash, leak or read past
 * the input. Random bytes rarely pass the checksum, so half of the inputs
 * (chosen by the last byte) get a valid header length and checksum patched in
 * first: that sends them through the payload parser.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdlib.h>
#include <string.h>

#include "dedup_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    if (size >= 40 && (data[size - 1] & 1)) {
        memcpy(buf, "NDSNAP\r\n", 8);
        uint64_t plen = size - 40;
        for (int i = 0; i < 8; i++)
            buf[24 + i] = (uint8_t)(plen >> (8 * i));
        uint64_t ck = XXH3_64bits(buf, size - 8);
        for (int i = 0; i < 8; i++)
            buf[size - 8 + i] = (uint8_t)(ck >> (8 * i));
    }
    nd_dedup_conf_t conf;
    nd_dedup_conf_init(&conf);
    conf.max_articles = 4096;
    char errstr[256];
    nd_err_t err = ND_ERR_NO_ERROR;
    nd_dedup_t *dd = nd_dedup_load_mem(&conf, buf, size, &err, errstr, sizeof(errstr));
    if (dd) {
        if (err != ND_ERR_NO_ERROR)
            abort();
        /* a loaded engine must keep working */
        nd_sig_t sig;
        nd_dedup_sign(dd, "a b c d e f", 11, &sig);
        nd_item_t it = {"fuzz:uri", 8, "src", 3, 0, 11};
        nd_decision_t d;
        if (nd_dedup_add(dd, &it, &sig, &d) != ND_ERR_NO_ERROR &&
            nd_dedup_add(dd, &it, &sig, &d) != ND_ERR_NO_ERROR)
            abort();
        nd_dedup_destroy(dd);
    } else if (err < ND_ERR_SNAPSHOT_FOREIGN || err > ND_ERR_SNAPSHOT_CONFIG) {
        if (err != ND_ERR_NOMEM && err != ND_ERR_INVALID_ARG)
            abort();
    }
    free(buf);
    return 0;
}
