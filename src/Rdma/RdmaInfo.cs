namespace Dqemu.Rdma; public static class RdmaInfo { public const string Name = "rdma"; }
