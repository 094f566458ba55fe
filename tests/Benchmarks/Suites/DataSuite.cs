using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.Statistics;

namespace Benchmarks.Suites;

/// <summary>
/// Data ingestion and statistics (issue 5). A seeded synthetic CSV of 1,000,000 rows x 20 columns (6 int64, 6 float64,
/// 8 categorical of 3 to 1,000 values, 2% missing fields; <c>--quick</c>: 100,000 rows) is read and fully described:
/// ours = <see cref="CsvReader"/> + <see cref="StatisticsBuilder"/> (all TFDV statistics, quantile sketches included;
/// <c>StatisticsBuilder.Compute</c> on a CSV reader takes the fused parse-into-statistics path on all cores);
/// the peer = pandas (Debian's python3-pandas under /usr/bin/python3) doing read_csv + describe + value_counts per
/// categorical column, run as a subprocess in the same run, timed inside the script (imports excluded) with its
/// peak RSS from getrusage. Our figure is taken after a warm-up on a small file (JIT), the CSV being in the page cache
/// for both. Then ExampleGen converts the same CSV (train/eval TFRecord gzip + columnar) and reports rows/s.
/// Also reported: our process CPU seconds for the statistics run (<c>stats_cpu_s</c>, less sensitive to a loaded
/// machine than wall time) and the 1-minute load average before it (<c>load_avg_1m</c>). GC: the runner is
/// workstation, non-concurrent (Benchmarks.csproj); the fused path allocates little, so no GC tuning is needed here.
/// Options: <c>--rows N</c>.
/// </summary>
public sealed class DataSuite : IBenchmarkSuite
{
    private const int IntColumns = 6, FloatColumns = 6, CatColumns = 8;

    /// <inheritdoc />
    public string Name => "data";

    /// <inheritdoc />
    public Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var rows = int.Parse(context.Options.Get("rows", context.Options.Quick ? "100000" : "1000000"), CultureInfo.InvariantCulture);
        var dir = Path.Combine(Path.GetTempPath(), "bench-data-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        try
        {
            var csv = Path.Combine(dir, "synthetic.csv");
            var warm = Path.Combine(dir, "warmup.csv");
            Generate(csv, rows, 1);
            Generate(warm, 20_000, 2);
            var mb = new FileInfo(csv).Length / 1048576.0;
            var extra = new Dictionary<string, object> { ["rows"] = rows, ["columns"] = IntColumns + FloatColumns + CatColumns, ["csv_mb"] = Math.Round(mb, 1), ["cores"] = Environment.ProcessorCount };

            ReadAndDescribe(warm);
            extra["load_avg_1m"] = LoadAverage();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var stats = ReadAndDescribe(csv);
            var ours = sw.Elapsed.TotalSeconds;
            var oursCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var oursPeak = BenchmarkContext.PeakWorkingSetMb();
            if (stats.NumExamples != rows) throw new InvalidOperationException($"statistics saw {stats.NumExamples} rows, expected {rows}");

            var (pandasSeconds, pandasPeak, pandasVersion) = RunPandas(csv, dir);
            var peer = new Dictionary<string, object>(extra) { ["peer"] = $"pandas {pandasVersion}" };
            context.Report("stats_time_s", ours, "s", extra);
            context.Report("stats_cpu_s", oursCpu, "s", extra);
            context.Report("pandas_time_s", pandasSeconds, "s", peer);
            context.Report("stats_vs_pandas_time_ratio", ours / pandasSeconds, "ratio", peer);
            context.Report("stats_peak_mb", oursPeak, "MB", extra);
            context.Report("pandas_peak_mb", pandasPeak, "MB", peer);
            context.Report("csv_read_stats_mb_per_s", mb / ours, "MB/s", extra);

            var outDir = Path.Combine(dir, "examplegen");
            sw.Restart();
            var result = ExampleGenCore.Run(new ExampleGenOptions { InputBase = dir, Pattern = "synthetic.csv", OutputDirectory = outDir });
            var egSeconds = sw.Elapsed.TotalSeconds;
            context.Report("examplegen_csv_rows_per_s", result.TotalRows / egSeconds, "rows/s", extra);
            context.Report("examplegen_csv_time_s", egSeconds, "s", extra);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        return Task.CompletedTask;
    }

    /// <summary>1-minute load average from /proc/loadavg (NaN elsewhere): the machine is shared, so runs note it.</summary>
    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static DatasetFeatureStatistics ReadAndDescribe(string path) =>
        StatisticsBuilder.Compute(CsvReader.Open(path), "bench");

    private static void Generate(string path, int rows, int seed)
    {
        var rng = new Random(seed);
        var cardinality = new[] { 3, 5, 10, 20, 50, 100, 300, 1000 };
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var header = Enumerable.Range(0, IntColumns).Select(i => $"i{i}")
            .Concat(Enumerable.Range(0, FloatColumns).Select(i => $"f{i}"))
            .Concat(Enumerable.Range(0, CatColumns).Select(i => $"c{i}"));
        w.Write(string.Join(',', header));
        w.Write('\n');
        var sb = new StringBuilder(256);
        for (var r = 0; r < rows; r++)
        {
            sb.Clear();
            for (var c = 0; c < IntColumns + FloatColumns + CatColumns; c++)
            {
                if (c > 0) sb.Append(',');
                if (rng.Next(50) == 0) continue; // 2% missing
                if (c < IntColumns) sb.Append(rng.Next(-1000, 100_000 * (c + 1)));
                else if (c < IntColumns + FloatColumns) sb.Append(((rng.NextDouble() * 2000) - 500).ToString("F3", CultureInfo.InvariantCulture));
                else
                {
                    var k = c - IntColumns - FloatColumns;
                    // skewed categories: low codes are frequent
                    var v = (int)(cardinality[k] * Math.Pow(rng.NextDouble(), 2));
                    sb.Append('c').Append(k).Append("_v").Append(v);
                }
            }
            sb.Append('\n');
            w.Write(sb);
        }
    }

    private static (double Seconds, double PeakMb, string Version) RunPandas(string csv, string dir)
    {
        const string python = "/usr/bin/python3";
        var script = Path.Combine(dir, "pandas_peer.py");
        File.WriteAllText(script, """
            import json, resource, sys, time
            try:
                import pandas as pd
            except ImportError:
                print("NO_PANDAS", flush=True)
                sys.exit(3)
            t0 = time.perf_counter()
            df = pd.read_csv(sys.argv[1])
            desc = df.describe()
            counts = {c: df[c].value_counts() for c in df.columns if df[c].dtype == object}
            t1 = time.perf_counter()
            print(json.dumps({"seconds": t1 - t0, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                              "version": pd.__version__, "categoricals": len(counts), "described": len(desc.columns)}))
            """);
        if (!File.Exists(python)) throw new InvalidOperationException($"{python} not found: the pandas peer needs Debian's python3 and python3-pandas (apt-get install -y python3-pandas)");
        var psi = new ProcessStartInfo(python, [script, csv]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 3) throw new InvalidOperationException("pandas is not installed for /usr/bin/python3: apt-get install -y python3-pandas");
        if (p.ExitCode != 0) throw new InvalidOperationException($"pandas peer failed ({p.ExitCode}): {stderr}");
        var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        return (json.GetProperty("seconds").GetDouble(), json.GetProperty("peak_mb").GetDouble(), json.GetProperty("version").GetString() ?? "?");
    }
}
