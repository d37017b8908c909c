using System.Diagnostics;
using System.Runtime.CompilerServices;
using Dqemu.Tests.Rdma;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Audit;

/// <summary>
/// The heap walks dump the process they run in, and at the end of a full suite the test host is large: its dump took
/// longer than createdump's 60 s, and createdump killed while attached left the host stopped (the whole run was
/// aborted). So those tests run in a child — this assembly started again with <c>dotnet</c> and
/// <see cref="Variable"/> naming the test — whose heap holds just the audit's clusters; the child prints its lines,
/// exits 0, or prints the failure and exits 1.
/// </summary>
internal static class AuditChild
{
    public const string Variable = "DQEMU_AUDIT_CHILD";
    public const string HeapWalk = "heap-walk", StartStop = "start-stop";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(240);

    private static Action<Action<string>> Body(string name) => name switch
    {
        HeapWalk => HeapAuditTests.HeapWalk,
        StartStop => HeapAuditTests.StartStop,
        _ => throw new ArgumentException($"{Variable}={name}: no such audit"),
    };

    /// <summary>Runs the audit <paramref name="name"/> in a child process; its output goes to the test's.</summary>
    public static void Run(string name, ITestOutputHelper output)
    {
        var psi = new ProcessStartInfo(TransportChild.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(AuditChild).Assembly.Location);
        psi.Environment[Variable] = name;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"the {name} audit did not end within {Limit.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }
        p.WaitForExit();
        output.WriteLine(stdout.Result);
        Assert.True(p.ExitCode == 0, $"the {name} audit failed (status {p.ExitCode}):\n{stdout.Result}{stderr.Result}");
    }

#pragma warning disable CA2255 // the module initializer is the child's entry point: the test assembly's Main does nothing
    [ModuleInitializer]
    internal static void RunIfChild()
#pragma warning restore CA2255
        => AssemblyChild.RunIfAsked(Variable, "audit-child", name =>
        {
            int status = 0;
            try
            {
                Body(name)(Console.WriteLine);
            }
            catch (Exception e)
            {
                Console.WriteLine($"FAILED: {e.Message}\n{e.StackTrace}");
                status = 1;
            }
            Console.Out.Flush();
            Environment.Exit(status);
        });
}
