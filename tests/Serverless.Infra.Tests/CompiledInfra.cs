using System.Text.Json.Nodes;

namespace Serverless.Infra.Tests;

/// <summary>
/// Compiles infra/ once for all tests of the <see cref="InfraCollection"/>: the ARM JSON of main.bicep and two
/// deployment snapshots. The Bicep files are copied to a temporary folder first, because <c>bicep snapshot</c> writes
/// its output beside the parameters file and the tests must not write into the repository.
/// </summary>
public sealed class CompiledInfra : IAsyncLifetime
{
    /// <summary>Fake deployment scope of the snapshots.</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-0000000000aa";

    /// <summary>Fake resource group of the snapshots.</summary>
    public const string ResourceGroup = "rg-infra-tests";

    /// <summary>A region with Flex Consumption and serverless GPUs.</summary>
    public const string Location = "swedencentral";

    /// <summary>The operator object id the full snapshot grants data access to.</summary>
    public const string OperatorPrincipalId = "11111111-2222-3333-4444-555555555555";

    /// <summary>The blob-triggered function the full snapshot subscribes to incoming blobs.</summary>
    public const string BlobTriggerFunctionName = "IncomingBlobTrigger";

    private string workFolder = string.Empty;

    /// <summary><c>bicep build main.bicep --stdout</c>.</summary>
    internal BicepResult Build { get; private set; } = null!;

    /// <summary>The compiled ARM template.</summary>
    public JsonObject Template { get; private set; } = null!;

    /// <summary><c>bicep build-params main.bicepparam --stdout</c>.</summary>
    internal BicepResult BuildParams { get; private set; } = null!;

    /// <summary>The parameters main.bicepparam sets (<c>bicep build-params</c>), name to value.</summary>
    public JsonObject ShippedParameters { get; private set; } = null!;

    /// <summary>The deployment main.bicepparam describes as shipped: the first one, before any image or code exists.</summary>
    internal DeploymentSnapshot Shipped { get; private set; } = null!;

    /// <summary>The shipped parameters with every optional part on: the trainer app on an image of the template's own
    /// registry, the blob-trigger subscription and the operator's role.</summary>
    internal DeploymentSnapshot Full { get; private set; } = null!;

    /// <summary>The trainer image of <see cref="Full"/>.</summary>
    public string FullTrainerImage { get; private set; } = string.Empty;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        workFolder = Directory.CreateTempSubdirectory("infra-tests-").FullName;
        foreach (var file in Directory.GetFiles(InfraFiles.InfraFolder, "*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".bicep", StringComparison.Ordinal) || f.EndsWith(".bicepparam", StringComparison.Ordinal)
                                 || Path.GetFileName(f) == "bicepconfig.json"))
        {
            var target = Path.Combine(workFolder, InfraFiles.RelativeToInfra(file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        Build = await BicepCli.RunAsync(workFolder, "build", "main.bicep", "--stdout");
        Assert.True(Build.ExitCode == 0, $"bicep build main.bicep failed: {Build.Output}");
        Template = JsonNode.Parse(Build.StandardOutput)!.AsObject();

        BuildParams = await BicepCli.RunAsync(workFolder, "build-params", "main.bicepparam", "--stdout");
        Assert.True(BuildParams.ExitCode == 0, $"bicep build-params main.bicepparam failed: {BuildParams.Output}");
        ShippedParameters = JsonNode.Parse((string)JsonNode.Parse(BuildParams.StandardOutput)!["parametersJson"]!)!["parameters"]!.AsObject();

        Shipped = await SnapshotAsync("main.bicepparam");
        var registry = (string)Shipped.Single("Microsoft.ContainerRegistry/registries")["name"]!;
        FullTrainerImage = $"{registry}.azurecr.io/serverless-trainer:1";
        var shippedText = await File.ReadAllTextAsync(Path.Combine(workFolder, "main.bicepparam"));
        await File.WriteAllTextAsync(Path.Combine(workFolder, "full.bicepparam"), Override(shippedText, new Dictionary<string, string>
        {
            ["trainerImage"] = $"'{FullTrainerImage}'",
            ["blobTriggerFunctionName"] = $"'{BlobTriggerFunctionName}'",
            ["operatorPrincipalId"] = $"'{OperatorPrincipalId}'",
        }));
        Full = await SnapshotAsync("full.bicepparam");
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        if (Directory.Exists(workFolder)) Directory.Delete(workFolder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Runs <c>bicep snapshot</c> on a parameters file of the work folder and reads what it wrote.</summary>
    private async Task<DeploymentSnapshot> SnapshotAsync(string parametersFile)
    {
        var result = await BicepCli.RunAsync(workFolder, "snapshot", parametersFile, "--mode", "overwrite",
            "--subscription-id", SubscriptionId, "--resource-group", ResourceGroup, "--location", Location);
        Assert.True(result.ExitCode == 0, $"bicep snapshot {parametersFile} failed: {result.Output}");
        var path = Path.Combine(workFolder, Path.ChangeExtension(parametersFile, ".snapshot.json"));
        var text = await File.ReadAllTextAsync(path);
        var snapshot = new DeploymentSnapshot(JsonNode.Parse(text)!.AsObject(), text);
        Assert.True(snapshot.Root["diagnostics"] is JsonArray { Count: 0 }, $"snapshot of {parametersFile} has diagnostics: {snapshot.Root["diagnostics"]}");
        return snapshot;
    }

    /// <summary>Replaces the value of each <c>param name = value</c> line (one-line values only).</summary>
    private static string Override(string parameters, IReadOnlyDictionary<string, string> values)
    {
        var lines = parameters.Split('\n');
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (var (name, value) in values)
            {
                if (lines[i].StartsWith($"param {name} =", StringComparison.Ordinal))
                {
                    lines[i] = $"param {name} = {value}";
                    seen.Add(name);
                }
            }
        }

        var missing = values.Keys.Where(k => !seen.Contains(k)).ToArray();
        Assert.True(missing.Length == 0, $"main.bicepparam does not set {string.Join(", ", missing)}");
        return string.Join('\n', lines);
    }
}

/// <summary>Tests sharing one compilation of infra/ (run one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<CompiledInfra>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "infra";
}
