namespace Dqemu.Runtime;

public static class Program
{
    public static int Main(string[] args)
    {
        // before anything else (even a P/Invoke): the runtime's own descriptors must not take the low
        // numbers a guest's open() expects; the diagnosis socket (DQEMU_DIAGNOSE=1) is one of those descriptors
        Syscalls.EmulatorFds.MoveRuntimeFdsHigh(() =>
        {
            Syscalls.EmulatorFds.WarmUpRuntime();
            Diagnosis.StartIfAsked();
        });
        BinfmtLaunch.Init();
        Host.ManagedHeapPrefault.Start();
        JitX64.Translation.TranslatorWarmUp.Start();
        try
        {
            if (JitX64.Host.HostCpu.UnknownOff.FirstOrDefault() is string unknown)
                throw new FatalException(ExitCodes.Usage,
                    $"{JitX64.Host.HostCpu.OffVariable}: '{unknown}' is not one of {string.Join(", ", JitX64.Host.HostCpu.Names)}");
            var opts = Cli.Parse(args, Environment.GetEnvironmentVariable, BinfmtLaunch.PreserveArgv0);
            if (opts.Binfmt != null) return BinfmtEntry.Run(opts.Binfmt, Console.Out);
            if (opts.DiagnosePid is int pid)
            {
                Console.Out.Write(Diagnosis.Request(pid));
                return 0;
            }
            if (opts.LogFile != null) GuestLog.OpenFile(opts.LogFile);
            // cluster hook: --cluster runs node 0 or a worker (src/Runtime/Cluster); without it nothing changes
            if (opts.ClusterFile != null)
                return Cluster.ClusterMain.Run(opts);
            return Emulator.Run(opts);
        }
        catch (HelpRequested h)
        {
            Console.Out.WriteLine(h.Message);
            return 0;
        }
        catch (FatalException e)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"dqemu-native: {OneLine(e.Message)}");
            return e.ExitCode;
        }
        catch (Exception e)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"dqemu-native: internal error: {e.GetType().Name}: {OneLine(e.Message)}");
            return ExitCodes.Internal;
        }
        finally
        {
            Profiling.PerfMap.FlushActive(); // a worker node returns here; an emulator error too
        }
    }

    /// <summary>
    /// The message with control characters escaped (\n, \x1b...): messages quote file names and a PT_INTERP path,
    /// which may hold any byte, and an error is one line on stderr.
    /// </summary>
    public static string OneLine(string message)
    {
        if (!message.Any(char.IsControl)) return message;
        var sb = new System.Text.StringBuilder(message.Length + 16);
        foreach (char c in message)
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return sb.ToString();
    }
}
