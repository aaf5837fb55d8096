/*
 * A deterministic stand-in for libFuzzer so every fuzz target runs in `make check` without
 * clang: each seed file under tests/fuzz/seeds/<target>/ is run as is, then mutated (bit
 * flips, byte insertions and deletions, splices of two seeds, truncations) with a fixed
 * xorshift seed, for a fixed number of rounds. Under ASan/UBSan any memory error aborts.
 * For real coverage-guided fuzzing, build the target with -fsanitize=fuzzer (see its header).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 64
#define MAX_LEN 8192

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SEED-DIR [ROUNDS]\n", argv[0]);
        return 2;
    }
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    uint8_t *seeds[MAX_SEEDS];
    size_t lens[MAX_SEEDS];
    int ns = 0;
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    struct dirent *de;
    while ((de = readdir(d)) && ns < MAX_SEEDS) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        seeds[ns] = malloc(MAX_LEN);
        lens[ns] = fread(seeds[ns], 1, MAX_LEN, f);
        fclose(f);
        LLVMFuzzerTestOneInput(seeds[ns], lens[ns]);
        ns++;
    }
    closedir(d);
    if (!ns) {
        fprintf(stderr, "no seeds in %s\n", argv[1]);
        return 2;
    }
    uint8_t *buf = malloc(MAX_LEN * 2);
    for (long r = 0; r < rounds; r++) {
        int s = (int)(next() % (uint64_t)ns);
        size_t n = lens[s];
        memcpy(buf, seeds[s], n);
        int muts = (int)(next() % 8) + 1;
        for (int m = 0; m < muts; m++) {
            size_t at = n ? (size_t)(next() % n) : 0;
            switch (next() % 6) {
            case 0:
                if (n)
                    buf[at] ^= (uint8_t)(1u << (next() % 8));
                break;
            case 1:
                if (n < MAX_LEN * 2 - 1) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (uint8_t)next();
                    n++;
                }
                break;
            case 2:
                if (n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            case 3:
                n = at;
                break;
            case 4: {
                int o = (int)(next() % (uint64_t)ns);
                size_t from = lens[o] ? (size_t)(next() % lens[o]) : 0;
                size_t k = lens[o] - from;
                if (at + k > MAX_LEN * 2)
                    k = MAX_LEN * 2 - at;
                memcpy(buf + at, seeds[o] + from, k);
                n = at + k;
                break;
            }
            default:
                if (n)
                    buf[at] = (uint8_t)"{}[]\":,\\\n\r$"[next() % 12];
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%ld mutated inputs from %d seeds: no crash\n", rounds, ns);
    free(buf);
    for (int i = 0; i < ns; i++)
        free(seeds[i]);
    return 0;
}
