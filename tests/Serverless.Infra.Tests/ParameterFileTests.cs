using System.Text.Json.Nodes;

namespace Serverless.Infra.Tests;

/// <summary>main.bicepparam covers the template's parameters, and the other files agree with its values.</summary>
[Collection(InfraCollection.Name)]
public sealed class ParameterFileTests(CompiledInfra infra)
{
    private JsonObject TemplateParameters => infra.Template["parameters"]!.AsObject();

    [Fact]
    public void ParameterFile_RequiredParameters_AreAllSet()
    {
        var required = TemplateParameters.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key).ToArray();

        Assert.Contains("baseName", required);
        Assert.All(required, name => Assert.True(infra.ShippedParameters.ContainsKey(name), $"main.bicepparam does not set the required parameter {name}"));
    }

    /// <summary>The file documents every knob (all but the region, which follows the resource group).</summary>
    [Fact]
    public void ParameterFile_EveryParameterButLocation_IsListed()
    {
        var missing = TemplateParameters.Select(p => p.Key)
            .Where(name => name != "location" && !infra.ShippedParameters.ContainsKey(name))
            .ToArray();

        Assert.True(missing.Length == 0, $"main.bicepparam does not list {string.Join(", ", missing)}");
        Assert.All(infra.ShippedParameters, p => Assert.True(TemplateParameters.ContainsKey(p.Key), $"main.bicepparam sets unknown parameter {p.Key}"));
    }

    [Fact]
    public void ParameterFile_FirstDeployment_HasNoImageAndNoSubscription()
    {
        Assert.Equal(string.Empty, (string?)infra.ShippedParameters["trainerImage"]!["value"]);
        Assert.Equal(string.Empty, (string?)infra.ShippedParameters["blobTriggerFunctionName"]!["value"]);
        Assert.Equal("Consumption-GPU-NC24-A100", (string?)infra.ShippedParameters["gpuWorkloadProfileType"]!["value"]);
    }

    /// <summary>The trainer image's host.json carries the same hub, container and queue as the deployment, so the
    /// container works before any setting overrides it.</summary>
    [Fact]
    public void TrainerHostJson_Values_MatchTheParameterFile()
    {
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraFiles.DockerFolder, "trainer.host.json")))!["extensions"]!;
        string Parameter(string name) => (string)infra.ShippedParameters[name]!["value"]!;

        Assert.Equal(Parameter("taskHubName"), (string?)host["durableTask"]!["hubName"]);
        Assert.Equal("AzureStorage", (string?)host["durableTask"]!["storageProvider"]!["type"]);
        Assert.Equal("AzureWebJobsStorage", (string?)host["durableTask"]!["storageProvider"]!["connectionStringName"]);
        Assert.Equal("azureBlob", (string?)host["pipelines"]!["artifactStore"]!["type"]);
        Assert.Equal("AzureWebJobsStorage", (string?)host["pipelines"]!["artifactStore"]!["connectionStringName"]);
        Assert.Equal(Parameter("artifactsContainerName"), (string?)host["pipelines"]!["artifactStore"]!["container"]);
        Assert.Equal(Parameter("trainerJobQueueName"), (string?)host["pipelines"]!["trainerJobs"]!["queueName"]);
    }

    /// <summary>infra/README.md's settings table names every setting the template gives the apps.</summary>
    [Fact]
    public void Readme_SettingsTable_NamesEveryAppSetting()
    {
        var readme = File.ReadAllText(Path.Combine(InfraFiles.InfraFolder, "README.md"));
        var names = infra.Full.Single("Microsoft.Web/sites")["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .Concat(infra.Full.Single("Microsoft.App/containerApps")["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray())
            .Select(s => (string)s!["name"]!)
            .Distinct(StringComparer.Ordinal)
            .ToArray();

        Assert.True(names.Length >= 12);
        var missing = names.Where(n => !readme.Contains($"`{n}`", StringComparison.Ordinal)).ToArray();
        Assert.True(missing.Length == 0, $"infra/README.md does not mention {string.Join(", ", missing)}");
    }
}
