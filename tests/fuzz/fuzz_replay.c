/* Plain main() for fuzz targets (dav1d's tests/libfuzzer pattern): runs
 * LLVMFuzzerTestOneInput on every file named on the command line, or on
 * every file in a directory named there, so a corpus and saved crashers
 * replay in ordinary CI without libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int r = -1;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
        goto out;
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    r = 0;
out:
    if (r < 0)
        fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    fclose(f);
    return r;
}

int main(int argc, char **argv)
{
    unsigned files = 0;
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i]) < 0;
            files++;
            continue;
        }
        struct dirent **ents;
        int n = scandir(argv[i], &ents, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            if (ents[k]->d_name[0] != '.') {
                snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name);
                bad |= run_file(path) < 0;
                files++;
            }
            free(ents[k]);
        }
        free(ents);
    }
    printf("replayed %u input(s)\n", files);
    return bad || !files;
}
