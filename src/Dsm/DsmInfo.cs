namespace Dqemu.Dsm; public static class DsmInfo { public const string Name = "dsm"; }
