namespace Dqemu.Runtime;

public static class Program
{
    public static int Main(string[] args)
    {
        // before anything else (even a P/Invoke): the runtime's own descriptors must not take the low
        // numbers a guest's open() expects
        Syscalls.EmulatorFds.MoveRuntimeFdsHigh(Syscalls.EmulatorFds.WarmUpRuntime);
        JitX64.Translation.TranslatorWarmUp.Start();
        try
        {
            var opts = Cli.Parse(args);
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
            Console.Error.WriteLine($"dqemu-native: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"dqemu-native: internal error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Internal;
        }
    }
}
