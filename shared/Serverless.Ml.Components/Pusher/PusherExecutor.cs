using System.Security.Cryptography;
using System.Text.Json;
using Serverless.Metadata;
using Serverless.Ml.Components.Evaluator;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.Ml.Components.Pusher;

/// <summary>
/// Runs <see cref="PusherComponent"/>. Idempotent under at-least-once delivery: if the repository already holds a complete
/// version with the same model bytes (an earlier attempt of this push), that version is reported instead of a new one.
/// </summary>
public sealed class PusherExecutor : IComponentExecutor
{
    private readonly ShippingOptions options;

    /// <summary>Creates the executor.</summary>
    public PusherExecutor(ShippingOptions? options = null) => this.options = options ?? new ShippingOptions();

    /// <summary>The default repository folder: <c>{home}/serving_models</c>, home = <c>$SERVERLESS_HOME</c> or <c>~/.serverless-ml</c>.</summary>
    public static string DefaultDestination()
    {
        var home = Environment.GetEnvironmentVariable("SERVERLESS_HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml");
        }

        return Path.Combine(home, "serving_models");
    }

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
        var keep = parameters.GetInt64("keep_versions");
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var name = parameters.GetString("model_name");
        name = name.Length == 0 ? context.PipelineName : name;
        if (!ModelRepository.IsValidModelName(name))
        {
            throw new ArgumentException($"model_name '{name}' is not a valid served model name");
        }

        var destination = parameters.GetString("push_destination");
        destination = destination.Length > 0 ? destination : options.PushDestination ?? DefaultDestination();
        var model = inputs["model"];
        var reasons = new List<string>();
        CheckBlessing(inputs["model_blessing"], "model_blessing (Evaluator)", model, reasons);
        CheckBlessing(inputs["infra_blessing"], "infra_blessing (InfraValidator)", model, reasons);

        var output = outputs["pushed_model"];
        output.Properties[ShippingProperties.ModelName] = MetadataValue.FromString(name);
        output.Properties[ShippingProperties.CurrentModel] = MetadataValue.FromString(model.Artifact.Uri);
        if (reasons.Count > 0)
        {
            output.Properties[ShippingProperties.Pushed] = MetadataValue.FromInt(0);
            output.Properties["reason"] = MetadataValue.FromString(string.Join("; ", reasons));
            await output.WriteTextAsync("pushed.json", JsonSerializer.Serialize(new PushRecord(false, null, null, name, model.Artifact.Uri, reasons, []), EvaluatorExecutor.Json), cancellation).ConfigureAwait(false);
            return;
        }

        Directory.CreateDirectory(destination);
        var repository = new ModelRepository(new LocalDirectoryBlobStore(destination));
        var bytes = await ModelFile.ReadAsync(model, cancellation).ConfigureAwait(false);
        var (version, pruned) = await PushAsync(repository, name, bytes, (int)Math.Min(keep, int.MaxValue), cancellation).ConfigureAwait(false);
        var where = Path.Combine(Path.GetFullPath(destination), name);
        output.Properties[ShippingProperties.Pushed] = MetadataValue.FromInt(1);
        output.Properties[ShippingProperties.PushedVersion] = MetadataValue.FromInt(version);
        output.Properties[ShippingProperties.PushedDestination] = MetadataValue.FromString(where);
        await output.WriteTextAsync("pushed.json", JsonSerializer.Serialize(new PushRecord(true, version, where, name, model.Artifact.Uri, [], pruned), EvaluatorExecutor.Json), cancellation).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes <paramref name="model"/> as the next version (model file, then marker, through the repository API) unless
    /// a complete version already holds the same bytes; then prunes to <paramref name="keep"/> versions.
    /// </summary>
    /// <returns>The version serving these bytes and the versions deleted by the pruning.</returns>
    public static async Task<(long Version, IReadOnlyList<long> Pruned)> PushAsync(ModelRepository repository, string name, byte[] model, int keep, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var hash = SHA256.HashData(model);
        long version = 0;
        foreach (var existing in (await repository.ListVersionsAsync(name, cancellation).ConfigureAwait(false)).Where(v => v.Ready).Reverse())
        {
            if (SHA256.HashData(await repository.ReadModelAsync(name, existing.Version, cancellation).ConfigureAwait(false)).AsSpan().SequenceEqual(hash))
            {
                version = existing.Version; // an earlier attempt of this push completed
                break;
            }
        }

        if (version == 0)
        {
            version = await repository.NextVersionAsync(name, cancellation).ConfigureAwait(false);
            await repository.PublishVersionAsync(name, version, model, cancellation).ConfigureAwait(false);
        }

        var pruned = await repository.PruneAsync(name, keep, cancellation).ConfigureAwait(false);
        return (version, pruned);
    }

    private static void CheckBlessing(InputArtifact blessing, string what, InputArtifact model, List<string> reasons)
    {
        var properties = blessing.Artifact.Properties;
        if (!properties.TryGetValue(ShippingProperties.Blessed, out var blessed) || blessed.Type != PropertyType.Int || blessed.IntValue != 1)
        {
            var why = properties.TryGetValue("failed_checks", out var f) && f.StringValue is { Length: > 0 } checks ? $": {checks}"
                : properties.TryGetValue("problems", out var p) && p.StringValue is { Length: > 0 } problems ? $": {problems}" : "";
            reasons.Add($"{what} is not blessed{why}");
            return;
        }

        if (properties.TryGetValue(ShippingProperties.CurrentModel, out var uri) && uri.StringValue != model.Artifact.Uri)
        {
            reasons.Add($"{what} blesses '{uri.StringValue}', not the model being pushed '{model.Artifact.Uri}'");
        }
    }

    private sealed record PushRecord(bool Pushed, long? Version, string? Destination, string ModelName, string Model, IReadOnlyList<string> Reasons, IReadOnlyList<long> Pruned);
}
