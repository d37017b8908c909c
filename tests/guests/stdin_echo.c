// Standard input: reads the text the harness feeds (the STDIN lines below) with
// fgets and then raw read() until EOF, and prints line/word/byte counts, the lines
// reversed, and a checksum. Also checks that isatty(0) is false.
// STDIN: The quick brown fox
// STDIN: jumps over the lazy dog.
// STDIN:
// STDIN:   indented line with trailing spaces   
// STDIN: 12345 67890 last line
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char line[256];
    int lines = 0, words = 0, bytes = 0;
    unsigned long sum = 0;
    printf("stdin is a tty: %d\n", isatty(0));
    /* first two lines through stdio */
    for (int k = 0; k < 2 && fgets(line, sizeof line, stdin); k++) {
        size_t n = strlen(line);
        bytes += (int)n;
        lines++;
        if (n && line[n - 1] == '\n') line[--n] = 0;
        for (size_t i = 0; i < n / 2; i++) { char t = line[i]; line[i] = line[n - 1 - i]; line[n - 1 - i] = t; }
        printf("reversed: [%s]\n", line);
        int in = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isspace((unsigned char)line[i]) && !in) words++;
            in = !isspace((unsigned char)line[i]);
            sum = sum * 31 + (unsigned char)line[i];
        }
    }
    /* the rest: whatever stdio already buffered, then raw reads */
    int c;
    char rest[1024];
    int rn = 0;
    while ((c = getchar()) != EOF && rn < (int)sizeof rest - 1) rest[rn++] = (char)c;
    rest[rn] = 0;
    ssize_t more = read(0, line, sizeof line);
    printf("read after EOF: %zd\n", more);
    bytes += rn;
    int in = 0;
    for (int i = 0; i < rn; i++) {
        if (rest[i] == '\n') lines++;
        if (!isspace((unsigned char)rest[i]) && !in) words++;
        in = !isspace((unsigned char)rest[i]);
        sum = sum * 31 + (unsigned char)rest[i];
    }
    printf("rest: [%s]\n", rest);
    printf("lines=%d words=%d bytes=%d sum=%lx\n", lines, words, bytes, sum);
    return 0;
}
