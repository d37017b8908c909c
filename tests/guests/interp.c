// A tiny stack-machine interpreter (switch dispatch over bytecode built by a
// two-pass assembler with labels) running iterative Fibonacci, a trial-division
// prime count and a Collatz search; plus a recursive-descent expression calculator.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, LT, EQ, JMP, JZ, JNZ, PRINT, HALT, DUP, DROP, SWAP };

static int64_t run(const int64_t *code, int64_t *vars) {
    int64_t stack[256];
    int sp = 0, pc = 0;
    int64_t steps = 0;
    for (;;) {
        steps++;
        int64_t op = code[pc++];
        switch (op) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = vars[code[pc++]]; break;
        case STORE: vars[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case DIV: sp--; stack[sp - 1] /= stack[sp]; break;
        case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case JMP: pc = (int)code[pc]; break;
        case JZ: pc = stack[--sp] ? pc + 1 : (int)code[pc]; break;
        case JNZ: pc = stack[--sp] ? (int)code[pc] : pc + 1; break;
        case PRINT: printf("  out: %lld\n", (long long)stack[--sp]); break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case DROP: sp--; break;
        case SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case HALT: return steps;
        default: printf("bad opcode %lld at %d\n", (long long)op, pc - 1); exit(1);
        }
    }
}

/* two-pass assembler: pass 0 records label addresses, pass 1 emits with them */
static int64_t code[1024];
static int n, pass, label_at[32];
static void e(int64_t v) { code[n++] = v; }
static void e2(int64_t op, int64_t arg) { e(op); e(arg); }
static void lab(int l) { if (pass == 0) label_at[l] = n; }
static void jmp(int64_t op, int l) { e2(op, pass == 0 ? 0 : label_at[l]); }

enum { A, B, C, D, T };
static void prog_fib(void) { /* a=0 b=1 c=90; while c { t=a+b; a=b; b=t; c-- } print a */
    e2(PUSH, 0); e2(STORE, A); e2(PUSH, 1); e2(STORE, B); e2(PUSH, 90); e2(STORE, C);
    lab(1); e2(LOAD, C); jmp(JZ, 2);
    e2(LOAD, A); e2(LOAD, B); e(ADD); e2(STORE, T); e2(LOAD, B); e2(STORE, A); e2(LOAD, T); e2(STORE, B);
    e2(LOAD, C); e2(PUSH, 1); e(SUB); e2(STORE, C); jmp(JMP, 1);
    lab(2); e2(LOAD, A); e(PRINT); e(HALT);
}
static void prog_primes(void) { /* count primes below 20000 by trial division */
    e2(PUSH, 2); e2(STORE, A); e2(PUSH, 0); e2(STORE, B);
    lab(1); e2(LOAD, A); e2(PUSH, 20000); e(LT); jmp(JZ, 9);
    e2(PUSH, 2); e2(STORE, C);
    lab(2); e2(LOAD, A); e2(LOAD, C); e(DUP); e(MUL); e(LT); jmp(JNZ, 4);     /* a < c*c: prime */
    e2(LOAD, A); e2(LOAD, C); e(MOD); jmp(JZ, 5);                              /* divisible: not prime */
    e2(LOAD, C); e2(PUSH, 1); e(ADD); e2(STORE, C); jmp(JMP, 2);
    lab(4); e2(LOAD, B); e2(PUSH, 1); e(ADD); e2(STORE, B);
    lab(5); e2(LOAD, A); e2(PUSH, 1); e(ADD); e2(STORE, A); jmp(JMP, 1);
    lab(9); e2(LOAD, B); e(PRINT); e(HALT);
}
static void prog_collatz(void) { /* longest Collatz chain for start < 3000: print start and length */
    e2(PUSH, 1); e2(STORE, A); e2(PUSH, 0); e2(STORE, D); e2(PUSH, 0); e2(STORE, T);
    lab(1); e2(LOAD, A); e2(PUSH, 3000); e(LT); jmp(JZ, 9);
    e2(LOAD, A); e2(STORE, B); e2(PUSH, 0); e2(STORE, C);
    lab(2); e2(LOAD, B); e2(PUSH, 1); e(EQ); jmp(JNZ, 5);
    e2(LOAD, C); e2(PUSH, 1); e(ADD); e2(STORE, C);
    e2(LOAD, B); e2(PUSH, 2); e(MOD); jmp(JZ, 3);
    e2(LOAD, B); e2(PUSH, 3); e(MUL); e2(PUSH, 1); e(ADD); e2(STORE, B); jmp(JMP, 2);
    lab(3); e2(LOAD, B); e2(PUSH, 2); e(DIV); e2(STORE, B); jmp(JMP, 2);
    lab(5); e2(LOAD, D); e2(LOAD, C); e(LT); jmp(JZ, 6);
    e2(LOAD, C); e2(STORE, D); e2(LOAD, A); e2(STORE, T);
    lab(6); e2(LOAD, A); e2(PUSH, 1); e(ADD); e2(STORE, A); jmp(JMP, 1);
    lab(9); e2(LOAD, T); e(PRINT); e2(LOAD, D); e(PRINT); e(HALT);
}

static void assemble_and_run(const char *name, void (*prog)(void)) {
    int64_t vars[8] = {0};
    for (pass = 0; pass < 2; pass++) { n = 0; prog(); }
    printf("%s (%d words):\n", name, n);
    int64_t steps = run(code, vars);
    printf("  steps=%lld\n", (long long)steps);
}

/* expression calculator */
static const char *ep;
static int64_t expr(void);
static void skip(void) { while (*ep == ' ') ep++; }
static int64_t atom(void) {
    skip();
    if (*ep == '(') { ep++; int64_t v = expr(); skip(); ep++; return v; }
    if (*ep == '-') { ep++; return -atom(); }
    int64_t v = 0;
    while (*ep >= '0' && *ep <= '9') v = v * 10 + (*ep++ - '0');
    return v;
}
static int64_t term(void) {
    int64_t v = atom();
    for (;;) {
        skip();
        if (*ep == '*') { ep++; v *= atom(); }
        else if (*ep == '/') { ep++; int64_t d = atom(); v = d ? v / d : 0; }
        else if (*ep == '%') { ep++; int64_t d = atom(); v = d ? v % d : 0; }
        else return v;
    }
}
static int64_t expr(void) {
    int64_t v = term();
    for (;;) {
        skip();
        if (*ep == '+') { ep++; v += term(); }
        else if (*ep == '-') { ep++; v -= term(); }
        else return v;
    }
}

int main(void) {
    assemble_and_run("fib(90)", prog_fib);
    assemble_and_run("primes<20000", prog_primes);
    assemble_and_run("collatz<3000", prog_collatz);
    const char *exprs[] = {"1+2*3", "(1+2)*3", "100/7%4", "-(3-10)*-(2+2)", "2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2",
                           "((((((1))))))+((2)*(3-(4/(5+6))))", "7/0", "123456789*987654321-5"};
    for (unsigned i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        ep = exprs[i];
        printf("%s = %lld\n", exprs[i], (long long)expr());
    }
    return 0;
}
