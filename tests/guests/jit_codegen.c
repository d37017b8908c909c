// A guest that generates code, as JITs do: write instructions into a mapping, make it executable,
// call it; then rewrite the same page (RW, write, RX again) and call again; then unmap and map new
// code at the same address. Each call must run the code written last.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(void);

static void emit_return(uint32_t *p, int value) {
    p[0] = 0x52800000u | ((uint32_t)value << 5); // mov w0, #value
    p[1] = 0xd65f03c0u;                          // ret
    __builtin___clear_cache((char *)p, (char *)(p + 2));
}

int main(void) {
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    emit_return(code, 11);
    mprotect(code, 4096, PROT_READ | PROT_EXEC);
    int a = ((fn)code)();
    mprotect(code, 4096, PROT_READ | PROT_WRITE);
    emit_return(code, 22);
    mprotect(code, 4096, PROT_READ | PROT_EXEC);
    int b = ((fn)code)();
    munmap(code, 4096);
    uint32_t *again = mmap(code, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    emit_return(again, 33);
    mprotect(again, 4096, PROT_READ | PROT_EXEC);
    int c = ((fn)again)();
    printf("generated code returned %d %d %d\n", a, b, c);
    return a == 11 && b == 22 && c == 33 ? 0 : 1;
}
