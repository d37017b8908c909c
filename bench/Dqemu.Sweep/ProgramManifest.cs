using System.Globalization;
using System.Text.RegularExpressions;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Dqemu.Sweep;

/// <summary>Which guest thread counts a program accepts (the manifest's <c>threads</c> key).</summary>
public enum ThreadPolicy
{
    /// <summary><c>threads = "any"</c>: every count from 1 up.</summary>
    Any,
    /// <summary><c>threads = "pow2"</c>: only powers of two (1, 2, 4, ...).</summary>
    PowerOfTwo,
}

/// <summary>How a run's output is compared with the reference (the manifest's <c>compare</c> key); see <see cref="OutputCheck"/>.</summary>
public enum CompareMode
{
    /// <summary><c>compare = "exact"</c>: the bytes are equal (the lines left after <c>ignore</c>, when it is given).</summary>
    Exact,
    /// <summary><c>compare = "float"</c>: whitespace-separated tokens, numbers within a relative tolerance.</summary>
    Float,
}

/// <summary>The manifest is malformed or names something it does not have; the message is one line naming the file.</summary>
public sealed class ManifestException(string message) : Exception(message);

/// <summary>
/// One <c>[[program]]</c> entry of bench/parsec/programs.toml, validated: the binary is
/// <c>build/parsec/aarch64/&lt;Name&gt;</c> (and <c>x86_64/&lt;Name&gt;</c> for the native comparison), its inputs are
/// in <c>build/parsec/inputs/&lt;Name&gt;</c>.
/// </summary>
/// <param name="Name">The program and binary name.</param>
/// <param name="Threads">Which thread counts it accepts.</param>
/// <param name="Output">"stdout", or the name of a file the program writes into its working directory.</param>
/// <param name="Compare">How its output is compared with the reference.</param>
/// <param name="Tolerance">The relative tolerance of <see cref="CompareMode.Float"/>; 0 for <see cref="CompareMode.Exact"/>.</param>
/// <param name="Ignore">Lines matching any of these are dropped from both outputs before comparing (may be empty).</param>
/// <param name="Sizes">Argument templates per input size ("test", "bench", ...), with <c>{threads}</c> and <c>{inputs}</c> placeholders.</param>
public sealed record ProgramSpec(
    string Name,
    ThreadPolicy Threads,
    string Output,
    CompareMode Compare,
    double Tolerance,
    IReadOnlyList<Regex> Ignore,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Sizes)
{
    /// <summary>True when the output to check is the program's standard output rather than a file.</summary>
    public bool OutputIsStdout => Output == "stdout";

    /// <summary>Whether <paramref name="threads"/> is a thread count this program accepts (always false below 1).</summary>
    public bool AcceptsThreads(int threads) =>
        threads >= 1 && (Threads == ThreadPolicy.Any || (threads & (threads - 1)) == 0);

    /// <summary>
    /// The command-line arguments for <paramref name="size"/>: every <c>{threads}</c> replaced by
    /// <paramref name="threads"/> and every <c>{inputs}</c> by <paramref name="inputsDir"/> (which should be absolute,
    /// since each run has its own working directory).
    /// </summary>
    /// <exception cref="ManifestException">The program has no such size.</exception>
    public IReadOnlyList<string> ExpandArgs(string size, int threads, string inputsDir)
    {
        if (!Sizes.TryGetValue(size, out var template))
            throw new ManifestException($"program '{Name}' has no size '{size}' (it has {string.Join(", ", Sizes.Keys)})");
        string t = threads.ToString(CultureInfo.InvariantCulture);
        return template.Select(a => a.Replace("{threads}", t).Replace("{inputs}", inputsDir)).ToArray();
    }

    /// <summary>Whether any argument of <paramref name="size"/> uses <c>{inputs}</c> (so the inputs directory must exist).</summary>
    public bool UsesInputs(string size) => Sizes.TryGetValue(size, out var a) && a.Any(x => x.Contains("{inputs}"));
}

/// <summary>
/// bench/parsec/programs.toml: the PARSEC programs the sweep runs and how their output is checked.
/// <code>
/// [[program]]
/// name = "blackscholes"            # also the binary name
/// threads = "any"                  # "any", or "pow2"
/// output = "prices.txt"            # "stdout", or a file written into the working directory
/// compare = "float"                # "exact" or "float"
/// tolerance = 1e-6                 # "float" only (and required there): relative tolerance
/// ignore = ["^Number of .*time"]   # optional .NET regexes of lines dropped before comparing
/// [program.size.test]
/// args = ["{threads}", "{inputs}/in_4K.txt", "prices.txt"]
/// </code>
/// Loading checks everything up front — unknown keys, an unknown <c>threads</c> or <c>compare</c> value, a program
/// without sizes or a size without <c>args</c>, a regex that does not compile, an unknown <c>{placeholder}</c>,
/// duplicate names — and reports the first problem as one <see cref="ManifestException"/> line with file and line.
/// </summary>
public sealed class ProgramManifest
{
    /// <summary>The file the manifest was read from (or the source name given to <see cref="Parse"/>).</summary>
    public string Source { get; }

    /// <summary>The programs in file order.</summary>
    public IReadOnlyList<ProgramSpec> Programs { get; }

    private static readonly Regex TomlError = new(@"^(.*)\((\d+),\d+\)\s*:\s*error\s*:\s*(.*)$", RegexOptions.CultureInvariant);

    private ProgramManifest(string source, IReadOnlyList<ProgramSpec> programs) => (Source, Programs) = (source, programs);

    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <exception cref="ManifestException">The file is missing, unreadable or invalid.</exception>
    public static ProgramManifest Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException($"{path}: cannot read ({e.Message})");
        }
        return Parse(text, path);
    }

    /// <summary>Validates manifest <paramref name="text"/>; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="ManifestException">The text is not valid TOML or not a valid manifest.</exception>
    public static ProgramManifest Parse(string text, string source)
    {
        var store = new TomlMetadataStore();
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text, new TomlSerializerOptions
            {
                SourceName = source,
                MetadataStore = store, // key spans, so that errors can name the line
                DuplicateKeyHandling = TomlDuplicateKeyHandling.Error,
            }) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            // Tomlyn says "source(line,column) : error : message"; make it "source:line: message" like the others
            string first = e.Message.Split('\n')[0].Trim();
            var m = TomlError.Match(first);
            throw new ManifestException(m.Success ? $"{m.Groups[1].Value}:{m.Groups[2].Value}: {m.Groups[3].Value}" : $"{source}: {first}");
        }

        var reader = new Reader(source, store);
        foreach (var key in root.Keys)
            if (key != "program") throw reader.Error(root, key, $"unknown top-level key '{key}' (expected [[program]] entries)");
        if (!root.TryGetValue("program", out var list) || list is not TomlTableArray entries || entries.Count == 0)
            throw new ManifestException($"{source}: no [[program]] entries");

        var programs = new List<ProgramSpec>();
        foreach (TomlTable entry in entries)
        {
            var p = reader.Program(entry);
            if (programs.Any(q => q.Name == p.Name))
                throw reader.Error(entry, "name", $"program '{p.Name}' appears twice");
            programs.Add(p);
        }
        return new ProgramManifest(source, programs);
    }

    /// <summary>The program called <paramref name="name"/>.</summary>
    /// <exception cref="ManifestException">There is none.</exception>
    public ProgramSpec Get(string name) =>
        Programs.FirstOrDefault(p => p.Name == name)
        ?? throw new ManifestException($"{Source}: no program '{name}' (it has {string.Join(", ", Programs.Select(p => p.Name))})");

    /// <summary>Turns one Tomlyn table into a <see cref="ProgramSpec"/>, naming file and line in every error.</summary>
    private sealed class Reader(string source, TomlMetadataStore store)
    {
        private static readonly string[] ProgramKeys = ["name", "threads", "output", "compare", "tolerance", "ignore", "size"];
        private static readonly Regex Placeholder = new(@"\{([^{}]*)\}", RegexOptions.CultureInvariant);

        public ProgramSpec Program(TomlTable t)
        {
            foreach (var key in t.Keys)
                if (!ProgramKeys.Contains(key))
                    throw Error(t, key, $"unknown key '{key}' in [[program]] (expected {string.Join(", ", ProgramKeys)})");

            string name = Required<string>(t, "name", "[[program]]");
            // the name is a file name under build/parsec/<arch>/: nothing that would leave that directory
            if (name.Length == 0 || name.Contains('/') || name is "." or "..")
                throw Error(t, "name", $"program name '{name}' is not a plain file name");
            string where = $"program '{name}'";

            string threads = Required<string>(t, "threads", where);
            var policy = threads switch
            {
                "any" => ThreadPolicy.Any,
                "pow2" => ThreadPolicy.PowerOfTwo,
                _ => throw Error(t, "threads", $"{where}: threads '{threads}' is not \"any\" or \"pow2\""),
            };

            string output = Required<string>(t, "output", where);
            if (output.Length == 0 || output.Contains('/') || output is "." or "..")
                throw Error(t, "output", $"{where}: output '{output}' is not \"stdout\" or a plain file name");

            string compare = Required<string>(t, "compare", where);
            var mode = compare switch
            {
                "exact" => CompareMode.Exact,
                "float" => CompareMode.Float,
                _ => throw Error(t, "compare", $"{where}: compare '{compare}' is not \"exact\" or \"float\""),
            };

            double tolerance = 0;
            if (t.TryGetValue("tolerance", out var tol))
            {
                if (mode != CompareMode.Float) throw Error(t, "tolerance", $"{where}: tolerance is only used with compare = \"float\"");
                tolerance = tol switch
                {
                    double d => d,
                    long l => l,
                    _ => throw Error(t, "tolerance", $"{where}: tolerance must be a number"),
                };
                if (!double.IsFinite(tolerance) || tolerance < 0)
                    throw Error(t, "tolerance", $"{where}: tolerance {tolerance.ToString(CultureInfo.InvariantCulture)} must be a finite number >= 0");
            }
            else if (mode == CompareMode.Float)
                throw Error(t, "compare", $"{where}: compare = \"float\" needs a tolerance");

            var ignore = new List<Regex>();
            if (t.TryGetValue("ignore", out var ig))
            {
                foreach (var pattern in Strings(t, "ignore", ig, where))
                {
                    try { ignore.Add(new Regex(pattern, RegexOptions.CultureInvariant)); }
                    catch (ArgumentException e)
                    {
                        throw Error(t, "ignore", $"{where}: ignore regex '{pattern}' does not compile ({e.Message.Split('\n')[0]})");
                    }
                }
            }

            if (!t.TryGetValue("size", out var sz) || sz is not TomlTable sizeTable || sizeTable.Count == 0)
                throw Error(t, "name", $"{where}: no sizes (expected [program.size.test] and [program.size.bench] with args)");
            var sizes = new Dictionary<string, IReadOnlyList<string>>();
            foreach (var (size, value) in sizeTable)
            {
                if (value is not TomlTable st) throw Error(sizeTable, size, $"{where}: size.{size} must be a table with args");
                foreach (var key in st.Keys)
                    if (key != "args") throw Error(st, key, $"{where}: unknown key '{key}' in size.{size} (expected args)");
                if (!st.TryGetValue("args", out var args)) throw Error(sizeTable, size, $"{where}: size.{size} has no args");
                var list = Strings(st, "args", args, $"{where} size.{size}");
                foreach (var arg in list)
                    foreach (Match m in Placeholder.Matches(arg))
                        if (m.Groups[1].Value is not ("threads" or "inputs"))
                            throw Error(st, "args", $"{where} size.{size}: unknown placeholder '{m.Value}' (expected {{threads}} or {{inputs}})");
                sizes[size] = list;
            }
            return new ProgramSpec(name, policy, output, mode, tolerance, ignore, sizes);
        }

        private T Required<T>(TomlTable t, string key, string where)
        {
            if (!t.TryGetValue(key, out var v)) throw Error(t, null, $"{where}: missing key '{key}'");
            return v is T typed ? typed : throw Error(t, key, $"{where}: '{key}' must be a {(typeof(T) == typeof(string) ? "string" : typeof(T).Name)}");
        }

        private List<string> Strings(TomlTable t, string key, object? value, string where)
        {
            if (value is not TomlArray a) throw Error(t, key, $"{where}: '{key}' must be an array of strings");
            var list = new List<string>();
            foreach (var item in a)
                list.Add(item as string ?? throw Error(t, key, $"{where}: '{key}' must be an array of strings"));
            return list;
        }

        /// <summary>An error at <paramref name="key"/> of table <paramref name="t"/> ("file:line: message"), or at the file when the line is unknown.</summary>
        public ManifestException Error(TomlTable t, string? key, string message)
        {
            if (store.TryGetProperties(t, out var md) && md != null)
            {
                // a missing key: point at any key of the same table instead
                string? at = key != null && md.ContainsProperty(key) ? key : t.Keys.FirstOrDefault(md.ContainsProperty);
                if (at != null && md.TryGetProperty(at, out var pm) && pm != null)
                    return new ManifestException($"{source}:{pm.Span.Start.Line + 1}: {message}");
            }
            return new ManifestException($"{source}: {message}");
        }
    }
}
