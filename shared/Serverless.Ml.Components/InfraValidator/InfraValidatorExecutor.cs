using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Metadata;
using Serverless.Ml.Components.Evaluator;
using Serverless.Ml.Data;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.Ml.Components.InfraValidator;

/// <summary>
/// Runs <see cref="InfraValidatorComponent"/>. A model that fails to load, loads too slowly, or answers a canary wrongly is
/// an expected outcome: the node succeeds with an InfraBlessing of <c>blessed</c> = 0 and the reasons. Only a
/// misconfiguration (no model server found, bad parameters) fails the node.
/// </summary>
public sealed class InfraValidatorExecutor : IComponentExecutor
{
    /// <summary>The model name the candidate gets in the temporary repository.</summary>
    public const string CandidateName = "candidate";

    private readonly ShippingOptions options;

    /// <summary>Creates the executor.</summary>
    public InfraValidatorExecutor(ShippingOptions? options = null) => this.options = options ?? new ShippingOptions();

    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var mode = parameters.GetString("mode").ToLowerInvariant();
        var query = mode switch
        {
            "auto" => inputs.ContainsKey("examples"),
            "load_and_query" => inputs.ContainsKey("examples") ? true : throw new ArgumentException("mode load_and_query needs the examples input"),
            "load_only" => false,
            _ => throw new ArgumentException($"mode must be load_only, load_and_query or auto (got '{mode}')"),
        };
        var server = ResolveServer();
        var loadLimit = TimeSpan.FromSeconds(parameters.GetDouble("max_loading_time_seconds"));
        var requestTimeout = TimeSpan.FromSeconds(parameters.GetDouble("request_timeout_seconds"));
        var count = (int)Math.Clamp(parameters.GetInt64("num_examples"), 1, 1000);

        var model = inputs["model"];
        var scratch = ArtifactFiles.NewScratch(context);
        var report = new InfraReport { Model = model.Artifact.Uri, Mode = query ? "load_and_query" : "load_only", Server = server };
        try
        {
            var repository = new ModelRepository(new LocalDirectoryBlobStore(Path.Combine(scratch, "repository")));
            var bytes = await ModelFile.ReadAsync(model, cancellation).ConfigureAwait(false);
            await repository.PublishVersionAsync(CandidateName, 1, bytes, cancellation).ConfigureAwait(false);
            report.Declared = DeclaredOutputs(bytes);
            EvalExamples? examples = query
                ? await EvalExamples.LoadAsync(inputs["examples"], parameters.GetString("split"), scratch, cancellation).ConfigureAwait(false)
                : null;
            await ValidateAsync(server, Path.Combine(scratch, "repository"), loadLimit, requestTimeout, examples, count, report, cancellation).ConfigureAwait(false);
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }

        var blessed = report.Problems.Count == 0;
        var output = outputs["blessing"];
        await output.WriteTextAsync("infra_blessing.json", JsonSerializer.Serialize(report, EvaluatorExecutor.Json), cancellation).ConfigureAwait(false);
        await output.WriteTextAsync(blessed ? "INFRA_BLESSED" : "INFRA_NOT_BLESSED", string.Join("\n", report.Problems), cancellation).ConfigureAwait(false);
        output.Properties[ShippingProperties.Blessed] = MetadataValue.FromInt(blessed ? 1 : 0);
        output.Properties[ShippingProperties.CurrentModel] = MetadataValue.FromString(model.Artifact.Uri);
        output.Properties[ShippingProperties.CurrentModelId] = MetadataValue.FromInt(model.Artifact.Id);
        output.Properties["load_seconds"] = MetadataValue.FromDouble(Math.Round(report.LoadSeconds, 3));
        output.Properties["canary_requests"] = MetadataValue.FromInt(report.CanaryRequests);
        output.Properties["problems"] = MetadataValue.FromString(string.Join("; ", report.Problems));
    }

    /// <summary>
    /// Starts the server over <paramref name="repository"/>, waits for the candidate, sends the canaries; problems go to
    /// <paramref name="report"/> (an empty problem list means infra-blessed).
    /// </summary>
    internal static async Task ValidateAsync(
        string server, string repository, TimeSpan loadLimit, TimeSpan requestTimeout, EvalExamples? examples, int count,
        InfraReport report, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var process = ModelServerProcess.Start(server, repository, ["--model", CandidateName, "--quiet"]);
        await using (process.ConfigureAwait(false))
        {
            using var http = new HttpClient { BaseAddress = process.BaseAddress, Timeout = requestTimeout };
            var state = await WaitForLoadAsync(http, process, loadLimit, clock, report, cancellation).ConfigureAwait(false);
            report.LoadSeconds = clock.Elapsed.TotalSeconds;
            if (state != "AVAILABLE" || examples is null)
            {
                return;
            }

            var signature = await ReadSignatureAsync(http, report, cancellation).ConfigureAwait(false);
            if (signature is null)
            {
                return;
            }

            var (inputNames, outputs) = signature.Value;
            var canaries = CanaryRows(examples, inputNames, count);

            if (canaries.Count == 0)
            {
                report.Problems.Add("no examples in the split to build canary requests from");
                return;
            }

            foreach (var row in canaries)
            {
                report.CanaryRequests++;
                var body = new JsonObject { ["instances"] = new JsonArray(row.DeepClone()) }.ToJsonString();
                try
                {
                    using var response = await http.PostAsync($"v1/models/{CandidateName}:predict", new StringContent(body, Encoding.UTF8, "application/json"), cancellation).ConfigureAwait(false);
                    var text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        report.Problems.Add($"canary {report.CanaryRequests}: HTTP {(int)response.StatusCode}: {Truncate(text)}");
                        continue;
                    }

                    var problem = CheckPrediction(JsonNode.Parse(text), outputs);
                    if (problem is not null)
                    {
                        report.Problems.Add($"canary {report.CanaryRequests}: {problem}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    cancellation.ThrowIfCancellationRequested();
                    report.Problems.Add($"canary {report.CanaryRequests}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
    }

    private static async Task<string?> WaitForLoadAsync(HttpClient http, ModelServerProcess process, TimeSpan limit, Stopwatch clock, InfraReport report, CancellationToken cancellation)
    {
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                report.Problems.Add($"the model server exited before the model was AVAILABLE: {Truncate(process.OutputTail)}");
                return null;
            }

            try
            {
                using var response = await http.GetAsync($"v1/models/{CandidateName}", cancellation).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    var status = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false))?["model_version_status"]?.AsArray().FirstOrDefault();
                    var state = status?["state"]?.GetValue<string>();
                    report.State = state;
                    if (state == "AVAILABLE")
                    {
                        return state;
                    }

                    if (state == "END")
                    {
                        report.Problems.Add($"the model failed to load in the serving runtime: {status?["status"]?["error_code"]}: {status?["status"]?["error_message"]}");
                        return state;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                cancellation.ThrowIfCancellationRequested();
                // not listening yet
            }

            if (clock.Elapsed > limit)
            {
                report.Problems.Add($"the model was not AVAILABLE within max_loading_time_seconds {limit.TotalSeconds:0.###} (last state: {report.State ?? "server not answering"})");
                return null;
            }

            await Task.Delay(100, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the signature: input names, and outputs as name -> values per row (product of the non-batch dims; -1 when dynamic).</summary>
    private static async Task<(HashSet<string> Inputs, Dictionary<string, long> Outputs)?> ReadSignatureAsync(HttpClient http, InfraReport report, CancellationToken cancellation)
    {
        using var response = await http.GetAsync($"v1/models/{CandidateName}/metadata", cancellation).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        var signature = response.IsSuccessStatusCode ? JsonNode.Parse(text)?["metadata"]?["signature_def"]?["signature_def"]?["serving_default"] : null;
        var outputs = signature?["outputs"]?.AsObject();
        var inputs = signature?["inputs"]?.AsObject();
        if (outputs is null || inputs is null)
        {
            report.Problems.Add($"metadata request failed: HTTP {(int)response.StatusCode}: {Truncate(text)}");
            return null;
        }

        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, spec) in outputs)
        {
            var dims = spec?["tensor_shape"]?["dim"]?.AsArray().Select(d => long.Parse(d?["size"]?.ToString() ?? "-1", System.Globalization.CultureInfo.InvariantCulture)).ToList() ?? [];
            var perRow = dims.Skip(1).Aggregate(1L, (a, d) => a < 0 || d < 0 ? -1 : a * d);
            result[name] = perRow;
            report.Signature[name] = dims;
        }

        // The model file's own declaration wins where it fixes a width: ONNX Runtime may report what it could infer instead.
        foreach (var (name, perRow) in report.Declared)
        {
            if (perRow > 0 && result.ContainsKey(name))
            {
                result[name] = perRow;
            }
        }

        return (inputs.Select(p => p.Key).ToHashSet(StringComparer.Ordinal), result);
    }

    /// <summary>Checks a one-row predict response against the signature; null when it fits.</summary>
    internal static string? CheckPrediction(JsonNode? response, IReadOnlyDictionary<string, long> outputs)
    {
        var predictions = response?["predictions"] as JsonArray;
        if (predictions is not { Count: 1 })
        {
            return $"expected one prediction, got {(predictions is null ? "none" : predictions.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
        }

        var prediction = predictions[0];
        var byName = outputs.Count == 1
            ? new Dictionary<string, JsonNode?> { [outputs.Keys.First()] = prediction }
            : prediction is JsonObject o ? o.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal) : null;
        if (byName is null)
        {
            return "expected an object of named outputs";
        }

        foreach (var (name, perRow) in outputs)
        {
            if (!byName.TryGetValue(name, out var value))
            {
                return $"output '{name}' missing from the response";
            }

            var actual = CountValues(value);
            if (perRow >= 0 && actual != perRow)
            {
                return $"output '{name}' has {actual} values per row but the signature declares {perRow}";
            }
        }

        return null;
    }

    /// <summary>
    /// The first examples with every model input present (too few: then rows with missing values as null), as predict
    /// instances holding exactly the model's inputs (the server rejects extra fields such as the label).
    /// </summary>
    internal static IReadOnlyList<JsonObject> CanaryRows(EvalExamples examples, IReadOnlySet<string> inputs, int count)
    {
        var complete = new List<JsonObject>();
        var any = new List<JsonObject>();
        foreach (var batch in examples.Batches)
        {
            for (var i = 0; i < batch.RowCount && complete.Count < count; i++)
            {
                var row = new JsonObject();
                var full = true;
                for (var c = 0; c < batch.Columns.Count; c++)
                {
                    var column = batch.Columns[c];
                    if (column is Float32TensorColumn or BytesColumn || !inputs.Contains(column.Spec.Name))
                    {
                        continue;
                    }

                    var value = column.GetValue(i);
                    full &= value is not null;
                    row[column.Spec.Name] = value switch
                    {
                        null => null,
                        double d => JsonValue.Create(d),
                        long l => JsonValue.Create(l),
                        string s => JsonValue.Create(s),
                        _ => null,
                    };
                }

                (full ? complete : any).Add(row);
            }
        }

        return complete.Count >= count ? complete : [.. complete, .. any.Take(count - complete.Count)];
    }

    /// <summary>Values per row of each graph output as the model file declares it (-1 where a dimension is symbolic); empty for an unreadable file.</summary>
    private static Dictionary<string, long> DeclaredOutputs(byte[] bytes)
    {
        try
        {
            var graph = Serverless.Ml.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes).Graph;
            return graph?.Output.ToDictionary(
                o => o.Name,
                o => o.Type?.TensorType?.Shape?.Dim.Skip(1).Aggregate(1L, (a, d) => a < 0 || d.DimValue <= 0 ? -1 : a * d.DimValue) ?? -1,
                StringComparer.Ordinal) ?? [];
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return []; // the server reports why it cannot load the file
        }
    }

    private static long CountValues(JsonNode? node) => node switch
    {
        JsonArray array => array.Sum(CountValues),
        null => 1,
        _ => 1,
    };

    // The product's own model server, from the host's settings only: a pipeline or run parameter never names a program.
    private string ResolveServer()
    {
        foreach (var candidate in new[] { options.ModelServerPath, Environment.GetEnvironmentVariable("SERVERLESS_MODEL_SERVER") })
        {
            if (!string.IsNullOrWhiteSpace(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "Serverless.ModelServer.dll");
    }

    private static string Truncate(string text) => text.Length > 500 ? text[..500] + "..." : text;
}

/// <summary>What InfraValidator found (infra_blessing.json).</summary>
internal sealed class InfraReport
{
    public string Model { get; set; } = "";

    public string Mode { get; set; } = "";

    public string Server { get; set; } = "";

    public string? State { get; set; }

    public double LoadSeconds { get; set; }

    public int CanaryRequests { get; set; }

    public Dictionary<string, List<long>> Signature { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> Declared { get; set; } = new(StringComparer.Ordinal);

    public List<string> Problems { get; } = [];
}
