using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Serverless.ModelServer;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Serving;
using Serverless.Storage;
using Ort = Microsoft.ML.OnnxRuntime;

namespace Benchmarks.Suites;

/// <summary>
/// The model server under load (issue 7): a penguins-like model (6 raw CSV columns in, string lookups,
/// standardization, MLP 9-8-3) served in-process on loopback, single-row <c>:predict</c> requests from
/// 1, 8 and 64 connections. Load generator: Debian's <c>wrk</c> (installed with apt-get when missing),
/// else our own socket client. Also measured in the same run: the HTTP floor (a trivial endpoint of the
/// same server reading the same body and answering a fixed JSON), raw in-process single-row
/// <c>InferenceSession.Run</c> of the same inputs (what the server calls), and the package's own floor: its
/// <c>Run</c> on input and output <c>OrtValue</c>s created once and reused. Options: <c>--seconds S</c> per point (default 5, quick 2),
/// <c>--client wrk|socket</c>.
/// </summary>
public sealed class ServeSuite : IBenchmarkSuite
{
    private const string Body = """{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181.0,"body_mass_g":3750.0}]}""";
    private static readonly byte[] FloorResponse = """{"predictions":[[0.1,0.2,0.7]]}"""u8.ToArray();

    /// <inheritdoc />
    public string Name => "serve";

    /// <inheritdoc />
    public async Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var seconds = double.Parse(context.Options.Get("seconds", context.Options.Quick ? "2" : "5"), CultureInfo.InvariantCulture);
        var client = context.Options.Get("client", EnsureWrk() ? "wrk" : "socket");
        var root = Path.Combine(Path.GetTempPath(), "serve-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var model = BuildModel();
            var store = new LocalDirectoryBlobStore(root);
            await new ModelRepository(store).PublishVersionAsync("penguins", 1, model);
            var options = new ModelServerOptions { Urls = "http://127.0.0.1:0", Quiet = true };
            await using var app = ModelServerHost.Build(options, store, a => a.Use(FloorMiddleware));
            await app.StartAsync();
            var baseUri = ModelServerHost.GetBaseAddress(app);
            var predictUri = new Uri(baseUri, "/v1/models/penguins:predict");
            var floorUri = new Uri(baseUri, "/floor");
            var extra = new Dictionary<string, object> { ["client"] = client, ["seconds"] = seconds, ["model"] = "penguins-like 6 inputs, MLP 9-8-3" };

            // Warm-up (JIT, tiered compilation, ORT arenas).
            await LoadAsync(client, predictUri, 8, Math.Min(2, seconds));
            await LoadAsync(client, floorUri, 8, Math.Min(1, seconds));

            var rps = new Dictionary<int, double>();
            foreach (var c in new[] { 1, 8, 64 })
            {
                var cpu = Environment.CpuUsage.TotalTime;
                var r = await LoadAsync(client, predictUri, c, seconds);
                // Server CPU per request (wrk runs in its own process): steadier than rates on a loaded machine.
                context.Report($"predict_server_cpu_us_c{c}", (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / (r.Rps * seconds), "us", extra);
                rps[c] = r.Rps;
                context.Report($"predict_rps_c{c}", r.Rps, "1/s", extra);
                context.Report($"predict_p50_ms_c{c}", r.P50Ms, "ms", extra);
                context.Report($"predict_p99_ms_c{c}", r.P99Ms, "ms", extra);
                if (r.Errors > 0) context.Report($"predict_errors_c{c}", r.Errors, "count", extra);
            }
            var floorCpu = Environment.CpuUsage.TotalTime;
            var floor = await LoadAsync(client, floorUri, 64, seconds);
            context.Report("http_floor_server_cpu_us_c64", (Environment.CpuUsage.TotalTime - floorCpu).TotalMicroseconds / (floor.Rps * seconds), "us", extra);
            context.Report("http_floor_rps_c64", floor.Rps, "1/s", extra);
            context.Report("http_floor_p99_ms_c64", floor.P99Ms, "ms", extra);
            context.Report("predict_vs_http_floor_ratio", rps[64] / floor.Rps, "ratio", extra);

            using var session = InferenceSession.FromBytes(model, new InferenceSessionOptions { IntraOpThreads = 1 });
            var raw = RawOrt(session, seconds);
            context.Report("raw_ort_single_row_rps", raw, "1/s", extra);
            context.Report("server_vs_raw_ort_ratio", rps[64] / raw, "ratio", extra);
            context.Report("raw_ortvalue_reuse_single_row_rps", RawOrtValues(session.Native, seconds), "1/s", extra);
            using (var h = app.Services.GetService(typeof(ModelVersionManager)) is ModelVersionManager m ? m.Acquire("penguins") : default)
                context.Report("mean_batch_rows", (double)h.Servable.Batcher.RowsRun / Math.Max(1, h.Servable.Batcher.BatchesRun), "rows", extra);
            await app.StopAsync();
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task FloorMiddleware(HttpContext ctx, Func<Task> next)
    {
        if (ctx.Request.Path.Value != "/floor")
        {
            await next();
            return;
        }
        var pipe = ctx.Request.BodyReader;
        while (true)
        {
            var read = await pipe.ReadAsync();
            pipe.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = FloorResponse.Length;
        await ctx.Response.Body.WriteAsync(FloorResponse);
    }

    private sealed record LoadResult(double Rps, double P50Ms, double P99Ms, long Errors);

    private static Task<LoadResult> LoadAsync(string client, Uri uri, int connections, double seconds) =>
        client == "wrk" ? Task.Run(() => RunWrk(uri, connections, seconds)) : SocketLoadAsync(uri, connections, seconds);

    private static bool EnsureWrk()
    {
        if (File.Exists("/usr/bin/wrk")) return true;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("apt-get", "install -y wrk") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
        return File.Exists("/usr/bin/wrk");
    }

    private static LoadResult RunWrk(Uri uri, int connections, double seconds)
    {
        var script = Path.Combine(Path.GetTempPath(), $"serve-bench-{Environment.ProcessId}.lua");
        File.WriteAllText(script, $"wrk.method = \"POST\"\nwrk.body = [[{Body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
        var threads = Math.Min(connections, 2);
        var psi = new ProcessStartInfo("wrk", $"-t{threads} -c{connections} -d{Math.Max(1, (int)Math.Round(seconds))}s --latency -s {script} {uri}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        File.Delete(script);
        double rps = 0, p50 = double.NaN, p99 = double.NaN;
        long errors = 0;
        foreach (var line in output.Split('\n').Select(l => l.Trim()))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.StartsWith("Requests/sec:", StringComparison.Ordinal)) rps = double.Parse(parts[1], CultureInfo.InvariantCulture);
            else if (parts.Length == 2 && parts[0] == "50%") p50 = WrkMs(parts[1]);
            else if (parts.Length == 2 && parts[0] == "99%") p99 = WrkMs(parts[1]);
            else if (line.StartsWith("Non-2xx", StringComparison.Ordinal)) errors += long.Parse(parts[^1], CultureInfo.InvariantCulture);
        }
        if (rps == 0) throw new InvalidOperationException($"wrk printed no rate:\n{output}");
        return new LoadResult(rps, p50, p99, errors);
    }

    private static double WrkMs(string s)
    {
        var unit = s.TrimStart("0123456789.".ToCharArray());
        var v = double.Parse(s[..^unit.Length], CultureInfo.InvariantCulture);
        return unit switch { "us" => v / 1000, "ms" => v, "s" => v * 1000, "m" => v * 60000, _ => v };
    }

    // Our own generator: one keep-alive socket per connection, request bytes prepared once, latency per request.
    private static async Task<LoadResult> SocketLoadAsync(Uri uri, int connections, double seconds)
    {
        var body = Encoding.UTF8.GetBytes(Body);
        var request = Encoding.ASCII.GetBytes($"POST {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n").Concat(body).ToArray();
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var latencies = new List<double>[connections];
        long errors = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            var list = latencies[c] = new List<double>(100_000);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, uri.Port));
            var buffer = new byte[16384];
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                await socket.SendAsync(request, SocketFlags.None);
                var filled = 0;
                int headerEnd = -1, contentLength = 0;
                while (headerEnd < 0 || filled < headerEnd + contentLength)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                    if (n == 0) throw new IOException("The server closed the connection.");
                    filled += n;
                    if (headerEnd < 0)
                    {
                        var idx = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
                        if (idx < 0) continue;
                        headerEnd = idx + 4;
                        var headers = Encoding.ASCII.GetString(buffer, 0, headerEnd);
                        if (!headers.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) Interlocked.Increment(ref errors);
                        var cl = headers.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
                        contentLength = int.Parse(headers.AsSpan(cl + 16, headers.IndexOf('\r', cl) - cl - 16), CultureInfo.InvariantCulture);
                    }
                }
                list.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }));
        sw.Stop();
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(all.Length / sw.Elapsed.TotalSeconds, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], errors);
    }

    private static double RawOrt(InferenceSession session, double seconds)
    {
        var inputs = new[]
        {
            NamedTensor.Create("island", ["Biscoe"], 1, 1),
            NamedTensor.Create("sex", ["male"], 1, 1),
            NamedTensor.Create("bill_length_mm", [39.1f], 1, 1),
            NamedTensor.Create("bill_depth_mm", [18.7f], 1, 1),
            NamedTensor.Create("flipper_length_mm", [181f], 1, 1),
            NamedTensor.Create("body_mass_g", [3750f], 1, 1),
        };
        for (var i = 0; i < 1000; i++) session.Run(inputs);
        long runs = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 64; i++) session.Run(inputs);
            runs += 64;
        }
        return runs / sw.Elapsed.TotalSeconds;
    }

    // Microsoft.ML.OnnxRuntime without our tensors: input and output OrtValues built once, reused by every run.
    private static double RawOrtValues(Ort.InferenceSession session, double seconds)
    {
        string[] names = ["island", "sex", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"];
        string[] outputs = ["probabilities"];
        var values = new Ort.OrtValue[names.Length];
        using var runOptions = new Ort.RunOptions();
        try
        {
            values[0] = Ort.OrtValue.CreateTensorWithEmptyStrings(Ort.OrtAllocator.DefaultInstance, [1, 1]);
            values[0].StringTensorSetElementAt("Biscoe".AsSpan(), 0);
            values[1] = Ort.OrtValue.CreateTensorWithEmptyStrings(Ort.OrtAllocator.DefaultInstance, [1, 1]);
            values[1].StringTensorSetElementAt("male".AsSpan(), 0);
            float[] numbers = [39.1f, 18.7f, 181f, 3750f];
            for (var i = 0; i < numbers.Length; i++) values[2 + i] = Ort.OrtValue.CreateTensorValueFromMemory(new[] { numbers[i] }, [1, 1]);
            using var result = Ort.OrtValue.CreateTensorValueFromMemory(new float[3], [1, 3]);
            Ort.OrtValue[] results = [result];
            for (var i = 0; i < 1000; i++) session.Run(runOptions, names, values, outputs, results);
            long runs = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                for (var i = 0; i < 64; i++) session.Run(runOptions, names, values, outputs, results);
                runs += 64;
            }
            return runs / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    private static byte[] BuildModel()
    {
        var rng = new Random(7);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var g = new OnnxGraphBuilder("penguins");
        var island = g.Input("island", OnnxElementType.String, OnnxDim.Batch, 1);
        var sex = g.Input("sex", OnnxElementType.String, OnnxDim.Batch, 1);
        var bill = g.Input("bill_length_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var depth = g.Input("bill_depth_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var flipper = g.Input("flipper_length_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var mass = g.Input("body_mass_g", OnnxElementType.Float, OnnxDim.Batch, 1);
        var features = g.Concat(1,
            g.OneHot(island, ["Biscoe", "Dream", "Torgersen"]),
            g.OneHot(sex, ["female", "male"]),
            g.Standardize(bill, 44, 5.5),
            g.Standardize(depth, 17, 2),
            g.Standardize(flipper, 200, 14),
            g.Standardize(g.FillNaN(mass, 4200), 4200, 800));
        var h = g.Relu(g.Gemm(features, g.Initializer("w1", W(9 * 8), 9, 8), g.Initializer("b1", W(8), 8)));
        g.Output(g.Softmax(g.Gemm(h, g.Initializer("w2", W(8 * 3), 8, 3), g.Initializer("b2", W(3), 3))), "probabilities", OnnxDim.Batch, 3);
        g.SetMetadata(ModelClassLabels.MetadataKey, "Adelie,Chinstrap,Gentoo");
        return g.ToBytes();
    }
}
