using Xunit;

namespace Dqemu.Tests.Jit;

public class BitfieldTests
{
    [Theory]
    // shifts by immediate (UBFM/SBFM aliases)
    [InlineData("lsl x9, x1, #1\n lsl x10, x2, #63\n lsl w11, w3, #31\n lsl w12, w4, #4\n lsr x13, x5, #63\n lsr w14, w6, #31\n lsr x15, x7, #0\n asr x16, x0, #63\n asr w17, w1, #31\n asr x18, x2, #7\n asr w19, w3, #0\n lsl x20, x4, #32\n lsr w21, w5, #1\n asr x22, x6, #32")]
    // extends
    [InlineData("sxtb x9, w1\n sxth x10, w2\n sxtw x11, w3\n sxtb w12, w4\n sxth w13, w5\n uxtb w14, w6\n uxth w15, w7\n ubfx x16, x0, #0, #8\n ubfx x17, x1, #0, #32\n ubfx x18, x2, #0, #16\n sxtw x19, wzr\n uxtb w20, wzr\n sxtb x1, w1\n uxth w2, w2")]
    // UBFX / SBFX
    [InlineData("ubfx x9, x1, #3, #7\n ubfx w10, w2, #31, #1\n ubfx x11, x3, #32, #32\n ubfx x12, x4, #1, #63\n ubfx w13, w5, #5, #27\n sbfx x14, x6, #3, #7\n sbfx w15, w7, #31, #1\n sbfx x16, x0, #32, #32\n sbfx w17, w1, #0, #31\n sbfx x18, x2, #10, #40\n ubfx x19, x3, #0, #31\n ubfx x20, x4, #2, #33\n sbfx x21, x5, #0, #1")]
    // UBFIZ / SBFIZ
    [InlineData("ubfiz x9, x1, #3, #7\n ubfiz w10, w2, #31, #1\n ubfiz x11, x3, #32, #32\n ubfiz x12, x4, #1, #62\n sbfiz x13, x5, #3, #7\n sbfiz w14, w6, #31, #1\n sbfiz x15, x7, #32, #32\n sbfiz w16, w0, #4, #20\n sbfiz x17, x1, #62, #1\n ubfiz w18, w2, #1, #30\n sbfiz x19, x3, #1, #1")]
    // BFI / BFXIL / BFC
    [InlineData("bfi x1, x9, #3, #7\n bfi w2, w10, #31, #1\n bfi x3, x11, #0, #32\n bfi x4, x12, #32, #32\n bfxil x5, x13, #3, #7\n bfxil w6, w14, #0, #32\n bfxil x7, x15, #63, #1\n bfxil x0, x16, #0, #64\n bfc x17, #4, #8\n bfi x18, x18, #8, #8\n bfxil w19, w20, #1, #31\n bfc w21, #0, #32\n bfi x22, x23, #1, #63\n bfxil x24, x24, #5, #3")]
    // raw forms, including immr/imms combinations no alias names
    [InlineData("sbfm x9, x1, #5, #3\n ubfm w10, w2, #7, #30\n bfm x11, x3, #60, #2\n sbfm w12, w4, #31, #0\n ubfm x13, x5, #63, #62\n bfm w14, w6, #1, #0\n sbfm x15, x7, #0, #62\n ubfm x16, x0, #0, #62\n bfm x17, xzr, #3, #9\n sbfm w18, w1, #16, #15\n ubfm w19, w2, #16, #15")]
    // EXTR / ROR (immediate)
    [InlineData("extr x9, x1, x2, #0\n extr x10, x3, x4, #1\n extr x11, x5, x6, #63\n extr w12, w7, w0, #31\n extr w13, w1, w2, #0\n ror x14, x3, #17\n ror w15, w4, #9\n extr x16, xzr, x5, #7\n extr w17, w6, wzr, #3\n ror x18, x1, #0\n extr x19, x2, x3, #32\n extr w20, w4, w5, #16")]
    public void MatchesQemu(string snippet) => IntStates.Check(snippet);

    /// <summary>Every SBFM/UBFM/BFM immr/imms pair of one register size, a row of them per snippet.</summary>
    public static IEnumerable<object[]> Sweep()
    {
        foreach (var (mn, sf) in new[] { ("sbfm", true), ("ubfm", true), ("bfm", true), ("sbfm", false), ("ubfm", false), ("bfm", false) })
        {
            int n = sf ? 64 : 32;
            string r = sf ? "x" : "w";
            for (int s0 = 0; s0 < n; s0 += n / 4)
            {
                var sb = new System.Text.StringBuilder();
                int reg = 9;
                var rnd = new Random(s0 * 7 + n);
                for (int s = s0; s < s0 + n / 4; s++)
                {
                    int immr = rnd.Next(n);
                    sb.Append($"{mn} {r}{reg}, {r}{1 + (s % 7)}, #{immr}, #{s}\n");
                    reg = reg == 28 ? 9 : reg + 1;
                }
                yield return [sb.ToString()];
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sweep))]
    public void SweepMatchesQemu(string snippet)
    {
        // fewer states: the sweep already spreads the immediates
        int i = 0;
        foreach (var s in IntStates.All())
            if (i++ % 2 == 0) DiffTest.AssertSameAsQemu(snippet, s);
    }
}
