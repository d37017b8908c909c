using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Dqemu.Rdma.Ucx;
using Xunit;

namespace Dqemu.Tests.Rdma;

/// <summary>
/// <see cref="UcpNative"/> declares UCX's structures with explicit offsets and copies its constants by hand. These tests
/// take every structure, field, constant and imported function that class declares (by reflection, so a new one is
/// checked without a change here), compile a C program against the installed <c>ucp/api/ucp.h</c> that prints the
/// header's view of each, and compare: sizes and offsets, constant values, and for functions and callbacks that a call
/// with as many arguments compiles and that the return type has the same size. A missing gcc or missing UCX headers is a failure that says how to install them.
/// </summary>
public sealed class UcxLayoutTests
{
    /// <summary>C# field names that are not the C member's name (members of a nested struct or union).</summary>
    private static readonly Dictionary<string, string> MemberPaths = new()
    {
        ["ucp_ep_params_t.err_handler_cb"] = "err_handler.cb",
        ["ucp_ep_params_t.err_handler_arg"] = "err_handler.arg",
        ["ucp_request_param_t.cb_send"] = "cb.send",
    };

    /// <summary>C# constants that are not named as in C.</summary>
    private static readonly Dictionary<string, string> ConstantNames = new()
    {
        ["ApiMajor"] = "UCP_API_MAJOR",
        ["ApiMinor"] = "UCP_API_MINOR",
    };

    private static readonly Type Native = typeof(UcpNative);

    private static IEnumerable<Type> Structs() =>
        Native.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).Where(t => t.IsValueType).OrderBy(t => t.Name);

    private static IEnumerable<FieldInfo> Fields(Type s) =>
        s.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).OrderBy(f => Marshal.OffsetOf(s, f.Name));

    /// <summary>Integer constants (the library names are strings and are not in the header).</summary>
    private static IEnumerable<FieldInfo> Constants() =>
        Native.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType != typeof(string)).OrderBy(f => f.Name);

    private static IEnumerable<MethodInfo> Imports() =>
        Native.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() != null).OrderBy(m => m.Name);

    private static string MemberPath(Type s, FieldInfo f) => MemberPaths.GetValueOrDefault($"{s.Name}.{f.Name}", f.Name);
    private static string ConstantName(FieldInfo f) => ConstantNames.GetValueOrDefault(f.Name, f.Name);

    private static int ManagedSize(Type t) =>
        t.IsPointer || t.IsFunctionPointer || t == typeof(nint) || t == typeof(nuint) ? IntPtr.Size : Marshal.SizeOf(t);

    private static int ManagedStructSize(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;

    private static long ConstantValue(FieldInfo f) => f.GetRawConstantValue() switch
    {
        int i => i,
        uint u => u,
        long l => l,
        ulong u => unchecked((long)u),
        var v => throw new Xunit.Sdk.XunitException($"UcpNative.{f.Name}: a constant of type {v?.GetType().Name} is not checked by this test"),
    };

    /// <summary>A call expression with <paramref name="arity"/> zero arguments (0 converts to every pointer and integer
    /// parameter; a wrong count does not compile). Only used unevaluated (sizeof, __typeof__).</summary>
    private static string Call(string callee, int arity) => $"{callee}({string.Join(", ", Enumerable.Repeat("0", arity))})";

    /// <summary>The C program: one line "key value" for every structure, field, constant and function.</summary>
    private static string Program()
    {
        var c = new StringBuilder();
        c.AppendLine("#include <stddef.h>");
        c.AppendLine("#include <stdio.h>");  // open_memstream, fclose: UcpNative reads ucp_ep_print_info through them
        c.AppendLine("#include <stdlib.h>"); // free
        c.AppendLine("#include <ucp/api/ucp.h>");
        c.AppendLine("#define RET(e) (__builtin_types_compatible_p(__typeof__(e), void) ? -1LL : (long long)sizeof(__typeof__(e)))");
        c.AppendLine("int main(void) {");
        foreach (var s in Structs())
        {
            c.AppendLine($"  printf(\"size {s.Name} %zu\\n\", sizeof({s.Name}));");
            foreach (var f in Fields(s))
            {
                string m = MemberPath(s, f);
                c.AppendLine($"  printf(\"offset {s.Name}.{f.Name} %zu\\n\", offsetof({s.Name}, {m}));");
                c.AppendLine($"  printf(\"fieldsize {s.Name}.{f.Name} %zu\\n\", sizeof(((({s.Name} *)0)->{m})));");
                if (f.FieldType.IsFunctionPointer)
                {
                    // the callback's arity (a call with that many arguments compiles) and its return type's size
                    string call = Call($"(((({s.Name} *)0)->{m}))", f.FieldType.GetFunctionPointerParameterTypes().Length);
                    c.AppendLine($"  printf(\"return {s.Name}.{f.Name} %lld\\n\", RET({call}));");
                }
            }
        }
        c.AppendLine("  printf(\"size ucs_status_t %zu\\n\", sizeof(ucs_status_t));");
        c.AppendLine("  printf(\"signed ucs_status_t %d\\n\", (int)((ucs_status_t)-1 < 0));");
        foreach (var f in Constants())
            c.AppendLine($"  printf(\"const {f.Name} %lld\\n\", (long long)({ConstantName(f)}));");
        foreach (var m in Imports())
            c.AppendLine($"  printf(\"return {m.Name} %lld\\n\", RET({Call(m.Name, m.GetParameters().Length)}));");
        c.AppendLine("  return 0;");
        c.AppendLine("}");
        return c.ToString();
    }

    private static readonly Lazy<Dictionary<string, long>> Header = new(CompileAndRun);

    /// <summary>Compiles <see cref="Program"/> with gcc in a temporary directory, runs it, parses its lines.</summary>
    private static Dictionary<string, long> CompileAndRun()
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-ucx-layout-").FullName;
        try
        {
            string source = Path.Combine(dir, "layout.c"), exe = Path.Combine(dir, "layout");
            File.WriteAllText(source, Program());
            var (status, output) = Run("gcc", ["-std=gnu11", "-Wall", "-Werror=int-conversion", "-Werror=implicit-function-declaration",
                                               "-o", exe, source]);
            if (status == -1)
                Assert.Fail("gcc not found; run toolchains/install.sh (Debian packages gcc, libucx-dev)");
            if (status != 0)
            {
                string hint = output.Contains("ucp/api/ucp.h: No such file")
                    ? "the UCX headers are missing; run toolchains/install.sh (Debian package libucx-dev)"
                    : "the C program built from UcpNative does not compile against ucp/api/ucp.h (a name or an argument count differs)";
                Assert.Fail($"{hint}:\n{output}\n--- {source}:\n{Program()}");
            }
            (status, output) = Run(exe, []);
            if (status != 0) Assert.Fail($"{exe} exited with {status}:\n{output}");
            var values = new Dictionary<string, long>();
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int space = line.LastIndexOf(' ');
                values[line[..space]] = long.Parse(line[(space + 1)..]);
            }
            return values;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs a program (bounded: 60 s); status -1 when it cannot be started.</summary>
    private static (int Status, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "");
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"{file} did not finish within 60 s");
            }
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
    }

    private static long HeaderValue(string key) =>
        Header.Value.TryGetValue(key, out long v) ? v : throw new Xunit.Sdk.XunitException($"the C program printed no \"{key}\"");

    /// <summary>Every mismatch, one line each, so that one run shows them all.</summary>
    private static void AssertAll(IEnumerable<(string What, long CSharp, long C)> checks)
    {
        var bad = checks.Where(c => c.CSharp != c.C).Select(c => $"{c.What}: UcpNative has {c.CSharp}, ucp.h has {c.C}" +
            (c.What.StartsWith("return of") && c.C == 1 ? " (a ucs_status_t: one byte, see StatusIsOneSignedByte)" : "")).ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Fact]
    public void EveryStructureHasTheHeadersSizeAndFieldOffsets()
    {
        var structs = Structs().Select(s => s.Name).ToArray();
        Assert.Equal(["ucp_am_handler_param_t", "ucp_am_recv_param_t", "ucp_ep_params_t", "ucp_params_t",
                      "ucp_request_param_t", "ucp_worker_params_t"], structs);
        var checks = new List<(string, long, long)>();
        foreach (var s in Structs())
        {
            checks.Add(($"sizeof({s.Name})", ManagedStructSize(s), HeaderValue($"size {s.Name}")));
            checks.Add(($"Marshal.SizeOf({s.Name})", Marshal.SizeOf(s), HeaderValue($"size {s.Name}")));
            foreach (var f in Fields(s))
            {
                string what = $"{s.Name}.{MemberPath(s, f)}";
                checks.Add(($"offsetof({what})", (long)Marshal.OffsetOf(s, f.Name), HeaderValue($"offset {s.Name}.{f.Name}")));
                checks.Add(($"sizeof({what})", ManagedSize(f.FieldType), HeaderValue($"fieldsize {s.Name}.{f.Name}")));
            }
        }
        AssertAll(checks);
    }

    [Fact]
    public void EndpointErrorHandlerIsAt24And32()
    {
        Assert.Equal(24, (long)Marshal.OffsetOf<UcpNative.ucp_ep_params_t>(nameof(UcpNative.ucp_ep_params_t.err_handler_cb)));
        Assert.Equal(32, (long)Marshal.OffsetOf<UcpNative.ucp_ep_params_t>(nameof(UcpNative.ucp_ep_params_t.err_handler_arg)));
        Assert.Equal(24, HeaderValue("offset ucp_ep_params_t.err_handler_cb"));
        Assert.Equal(32, HeaderValue("offset ucp_ep_params_t.err_handler_arg"));
    }

    [Fact]
    public void CallbacksTakeAsManyArgumentsAndReturnWhatTheHeaderSays()
    {
        var checks = new List<(string, long, long)>();
        foreach (var s in Structs())
            foreach (var f in Fields(s).Where(f => f.FieldType.IsFunctionPointer))
            {
                // the arity is checked by compiling a call with that many arguments; the return type's size here
                var ret = f.FieldType.GetFunctionPointerReturnType();
                checks.Add(($"return of {s.Name}.{MemberPath(s, f)}", ret == typeof(void) ? -1 : ManagedSize(ret),
                            HeaderValue($"return {s.Name}.{f.Name}")));
            }
        Assert.Equal(3, checks.Count); // am cb, err_handler.cb, cb.send
        AssertAll(checks);
    }

    [Fact]
    public void EveryConstantHasTheHeadersValue()
    {
        var constants = Constants().ToList();
        Assert.Contains(constants, f => f.Name == nameof(UcpNative.UCP_FEATURE_AM));
        Assert.Contains(constants, f => f.Name == nameof(UcpNative.ApiMajor));
        AssertAll(constants.Select(f => ($"{ConstantName(f)}", ConstantValue(f), HeaderValue($"const {f.Name}"))));
    }

    [Fact]
    public void EveryImportedFunctionIsInTheHeaderWithItsArgumentCountAndReturnSize()
    {
        var imports = Imports().ToList();
        Assert.Contains(imports, m => m.Name == nameof(UcpNative.ucp_am_send_nbx));
        Assert.Contains(imports, m => m.Name == nameof(UcpNative.ucp_worker_progress));
        AssertAll(imports.Select(m => ($"return of {m.Name}",
            m.ReturnType == typeof(void) ? -1L : ManagedSize(m.ReturnType), HeaderValue($"return {m.Name}"))));
    }

    /// <summary>
    /// ucs_status_t is declared <c>UCS_S_PACKED</c>: a one-byte signed enum, so a function returns it in %al and leaves the
    /// rest of %eax unspecified (libucp's ucp_request_check_status zero-extends it: UCS_ERR_CANCELED, -16, reads as 240
    /// through an <c>int</c> return). Every C# signature that carries it must be one byte wide.
    /// </summary>
    [Fact]
    public void StatusIsOneSignedByte()
    {
        Assert.Equal(1, HeaderValue("size ucs_status_t"));
        Assert.Equal(1, HeaderValue("signed ucs_status_t"));
    }

    /// <summary>The installed library implements at least the API version the binding asks ucp_init_version for.</summary>
    [Fact]
    public void InstalledLibraryProvidesTheBindingsApiVersion()
    {
        string version = UcxTransport.Version;
        var m = System.Text.RegularExpressions.Regex.Match(version, @"^(\d+)\.(\d+)");
        Assert.True(m.Success, $"UCX version \"{version}\"");
        var installed = (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
        Assert.Equal((int)UcpNative.ApiMajor, installed.Item1);
        Assert.True(installed.Item2 >= UcpNative.ApiMinor, $"libucp {version} is older than the API {UcpNative.ApiMajor}.{UcpNative.ApiMinor} the binding uses");
        Assert.Equal(UcpNative.ApiMajor, (uint)HeaderValue("const ApiMajor"));
        Assert.Equal(UcpNative.ApiMinor, (uint)HeaderValue("const ApiMinor"));
    }
}
