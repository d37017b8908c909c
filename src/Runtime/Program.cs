namespace Dqemu.Runtime;

public static class Program
{
    public static int Main(string[] args)
    {
        // before anything else (even a P/Invoke): the runtime's own descriptors must not take the low
        // numbers a guest's open() expects
        Syscalls.EmulatorFds.MoveRuntimeFdsHigh(Syscalls.EmulatorFds.WarmUpRuntime);
        try
        {
            var opts = Cli.Parse(args);
            if (opts.ClusterFile != null)
                throw new FatalException(ExitCodes.Usage, "--cluster is not available in this build yet");
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
