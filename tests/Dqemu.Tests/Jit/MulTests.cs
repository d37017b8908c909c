using Xunit;

namespace Dqemu.Tests.Jit;

public class MulTests
{
    [Theory]
    [InlineData("mul x9, x1, x2\n mul w10, w3, w4\n madd x11, x5, x6, x7\n madd w12, w0, w1, w2\n msub x13, x3, x4, x5\n msub w14, w6, w7, w0\n mneg x15, x1, x2\n mneg w16, w3, w4\n madd x17, xzr, x1, x2\n mul x18, x1, x1\n msub w19, w5, wzr, w6\n madd x20, x7, x0, xzr\n msub x1, x1, x1, x1")]
    [InlineData("smull x9, w1, w2\n umull x10, w3, w4\n smaddl x11, w5, w6, x7\n umaddl x12, w0, w1, x2\n smsubl x13, w3, w4, x5\n umsubl x14, w6, w7, x0\n smnegl x15, w1, w2\n umnegl x16, w3, w4\n smulh x17, x5, x6\n umulh x18, x7, x0\n smulh x19, x1, x1\n umulh x20, x2, xzr\n smaddl x1, w1, w1, x1\n umull x21, wzr, w3")]
    [InlineData("mov x1, #0x8000000000000000\n mov x2, #-1\n smulh x9, x1, x2\n umulh x10, x1, x2\n smulh x11, x1, x1\n umulh x12, x2, x2\n mul x13, x1, x2\n smull x14, w2, w2\n umull x15, w2, w2\n smnegl x16, w1, w2\n mov w3, #0x80000000\n smull x17, w3, w3\n umaddl x18, w3, w3, x2\n smsubl x19, w3, w2, x1")]
    public void MatchesQemu(string snippet) => IntStates.Check(snippet);
}
