using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace Benchmarks;

/// <summary>
/// The benchmark runner (DESIGN.md section 7): <c>dotnet run -c Release --project tests/Benchmarks -- SUITE [--quick] [options]</c>.
/// Every figure is printed as one JSON object per line so that results can be collected by scripts.
/// Suites are classes implementing <see cref="IBenchmarkSuite"/>; they are found by reflection.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static async Task<int> Main(string[] args)
    {
        var suites = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
            .ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
        if (args.Length == 0 || !suites.TryGetValue(args[0], out var suite))
        {
            Console.Error.WriteLine($"usage: Benchmarks SUITE [--quick] [options]; suites: {string.Join(", ", suites.Keys.Order())}");
            return 2;
        }
        var options = BenchmarkOptions.Parse(args.Skip(1).ToArray());
        var context = new BenchmarkContext(suite.Name, options);
        await suite.RunAsync(context);
        return 0;
    }
}

/// <summary>A named group of measurements.</summary>
public interface IBenchmarkSuite
{
    /// <summary>Name used on the command line, e.g. <c>durable</c>.</summary>
    string Name { get; }

    /// <summary>Runs the measurements and reports them through <paramref name="context"/>.</summary>
    Task RunAsync(BenchmarkContext context);
}

/// <summary>Command-line options: <c>--quick</c> and <c>--name value</c> pairs.</summary>
public sealed class BenchmarkOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Smaller sizes for a fast smoke run.</summary>
    public bool Quick { get; private set; }

    /// <summary>Returns an option's value or the default.</summary>
    public string Get(string name, string defaultValue) => _values.TryGetValue(name, out var v) ? v : defaultValue;

    /// <summary>Parses <c>--quick</c> and <c>--key value</c> arguments.</summary>
    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--quick") { o.Quick = true; continue; }
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                o._values[args[i][2..]] = args[++i];
                continue;
            }
            throw new ArgumentException($"unknown benchmark argument '{args[i]}'");
        }
        return o;
    }
}

/// <summary>Where a suite reports its figures; prints JSON lines to standard output.</summary>
public sealed class BenchmarkContext(string suite, BenchmarkOptions options)
{
    /// <summary>The parsed options.</summary>
    public BenchmarkOptions Options { get; } = options;

    /// <summary>Prints one figure as a JSON line, with optional extra fields (e.g. backend, peer).</summary>
    public void Report(string metric, double value, string unit, IReadOnlyDictionary<string, object>? extra = null)
    {
        var obj = new Dictionary<string, object> { ["suite"] = suite, ["metric"] = metric, ["value"] = Math.Round(value, 4), ["unit"] = unit };
        if (extra != null) foreach (var (k, v) in extra) obj[k] = v;
        Console.WriteLine(JsonSerializer.Serialize(obj));
    }

    /// <summary>Peak working set of this process so far, in MB (from /proc/self/status VmHWM).</summary>
    public static double PeakWorkingSetMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }
}
