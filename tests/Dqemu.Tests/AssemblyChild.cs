namespace Dqemu.Tests;

/// <summary>
/// This test assembly started again as a child process (<c>dotnet Dqemu.Tests.dll</c> with a variable set), for what
/// cannot run inside the test host: a node that is killed, a transport that may abort its process, a heap dump of a
/// small process. The variable's value tells the child what to do.
/// </summary>
internal static class AssemblyChild
{
    /// <summary>
    /// When <paramref name="variable"/> is set: clears it and runs <paramref name="body"/> with its value on a foreground
    /// thread, which keeps the process alive after the assembly's empty Main returns (body ends the process). Call it
    /// from a module initializer, and do not run body there: until the initializer returns, every other thread that
    /// touches a type of this assembly waits for it.
    /// </summary>
    public static void RunIfAsked(string variable, string threadName, Action<string> body)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (value == null) return;
        Environment.SetEnvironmentVariable(variable, null);
        new Thread(() => body(value)) { IsBackground = false, Name = threadName }.Start();
    }
}
