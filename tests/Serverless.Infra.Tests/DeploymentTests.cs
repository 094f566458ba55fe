using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Serverless.Infra.Tests;

/// <summary>
/// What the deployment creates, read from the compiled template and its evaluated snapshots: the GPU profile, the
/// queue-driven scale rule, every role assignment, identity-only storage access, HTTPS and TLS settings.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed partial class DeploymentTests(CompiledInfra infra)
{
    // Built-in role definition ids, written here independently of the template.
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

    private const string Identities = "Microsoft.ManagedIdentity/userAssignedIdentities";

    private DeploymentSnapshot Full => infra.Full;

    private string Id(string type, string name) =>
        $"/subscriptions/{CompiledInfra.SubscriptionId}/resourceGroups/{CompiledInfra.ResourceGroup}/providers/{type}/{name}";

    private string FunctionIdentity => (string)Full.Named(Identities, "id-mlpipes-functions")["id"]!;

    private string TrainerIdentity => (string)Full.Named(Identities, "id-mlpipes-trainer")["id"]!;

    private JsonObject Storage => Full.Single("Microsoft.Storage/storageAccounts");

    private string StorageName => (string)Storage["name"]!;

    private JsonObject TrainerApp => Full.Single("Microsoft.App/containerApps");

    private JsonObject FunctionApp => Full.Single("Microsoft.Web/sites");

    [Fact]
    public void ContainerEnvironment_WorkloadProfiles_IncludeServerlessA100()
    {
        var environment = Full.Single("Microsoft.App/managedEnvironments");
        var profiles = environment["properties"]!["workloadProfiles"]!.AsArray().Select(p => p!.AsObject()).ToArray();

        var gpu = Assert.Single(profiles, p => ((string)p["workloadProfileType"]!).StartsWith("Consumption-GPU-", StringComparison.Ordinal));
        Assert.Equal("Consumption-GPU-NC24-A100", (string?)gpu["workloadProfileType"]);
        Assert.Contains(profiles, p => (string?)p["workloadProfileType"] == "Consumption");
        Assert.Equal("azure-monitor", (string?)environment["properties"]!["appLogsConfiguration"]!["destination"]);

        var app = TrainerApp["properties"]!;
        Assert.Equal((string?)gpu["name"], (string?)app["workloadProfileName"]);
        Assert.Equal((string)environment["id"]!, (string?)app["environmentId"]);
        var resources = app["template"]!["containers"]![0]!["resources"]!;
        Assert.Equal(24, (int)resources["cpu"]!);
        Assert.Equal("220Gi", (string?)resources["memory"]);
    }

    [Fact]
    public void TrainerApp_ScaleRule_IsAzureQueueOnJobQueueWithIdentity()
    {
        var queue = Full.Single("Microsoft.Storage/storageAccounts/queueServices/queues");
        var queueName = ((string)queue["name"]!).Split('/')[^1];
        var scale = TrainerApp["properties"]!["template"]!["scale"]!;

        Assert.Equal(0, (int)scale["minReplicas"]!);
        Assert.True((int)scale["maxReplicas"]! >= 1);
        var rule = Assert.Single(scale["rules"]!.AsArray())!["custom"]!;
        Assert.Equal("azure-queue", (string?)rule["type"]);
        Assert.Equal("trainer-jobs", queueName);
        Assert.Equal(queueName, (string?)rule["metadata"]!["queueName"]);
        Assert.Equal(StorageName, (string?)rule["metadata"]!["accountName"]);
        Assert.Equal("all", (string?)rule["metadata"]!["queueLengthStrategy"]);
        Assert.Equal("1", (string?)rule["metadata"]!["queueLength"]);
        Assert.Equal(TrainerIdentity, (string?)rule["identity"]);
        Assert.Null(rule["auth"]);
        Assert.True(TrainerApp["identity"]!["userAssignedIdentities"]!.AsObject().ContainsKey(TrainerIdentity));
    }

    [Fact]
    public void RoleAssignments_All_GrantExactlyTheExpectedRolesToTheExpectedPrincipals()
    {
        var storage = (string)Storage["id"]!;
        var expected = new HashSet<(string Scope, string Role, string Principal)>
        {
            (storage, StorageBlobDataOwner, FunctionIdentity),
            (storage, StorageQueueDataContributor, FunctionIdentity),
            (storage, StorageTableDataContributor, FunctionIdentity),
            ((string)Full.Single("Microsoft.Insights/components")["id"]!, MonitoringMetricsPublisher, FunctionIdentity),
            ($"{storage}/blobServices/default/containers/artifacts", StorageBlobDataContributor, TrainerIdentity),
            ($"{storage}/queueServices/default/queues/trainer-jobs", StorageQueueDataContributor, TrainerIdentity),
            ((string)Full.Single("Microsoft.ContainerRegistry/registries")["id"]!, AcrPull, TrainerIdentity),
            (storage, StorageBlobDataContributor, CompiledInfra.OperatorPrincipalId),
        };

        var assignments = Full.OfType("Microsoft.Authorization/roleAssignments").ToArray();
        var actual = assignments.Select(a => (
            Scope: DeploymentSnapshot.ScopeOf(a),
            Role: (string)a["properties"]!["roleDefinitionId"]!,
            Principal: DeploymentSnapshot.PrincipalOf(a))).ToArray();

        foreach (var a in actual)
        {
            Assert.StartsWith($"/subscriptions/{CompiledInfra.SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/", a.Role, StringComparison.Ordinal);
        }

        var granted = actual.Select(a => (a.Scope, a.Role.Split('/')[^1], a.Principal)).ToHashSet();
        Assert.True(expected.SetEquals(granted),
            $"missing: {string.Join("; ", expected.Except(granted))}\nunexpected: {string.Join("; ", granted.Except(expected))}");
        Assert.Equal(actual.Length, granted.Count);
        Assert.All(assignments.Where(a => DeploymentSnapshot.PrincipalOf(a) != CompiledInfra.OperatorPrincipalId),
            a => Assert.Equal("ServicePrincipal", (string?)a["properties"]!["principalType"]));
    }

    [Fact]
    public void RoleAssignments_ShippedParameters_LeaveOutTheOperator()
    {
        var principals = infra.Shipped.OfType("Microsoft.Authorization/roleAssignments").Select(DeploymentSnapshot.PrincipalOf).ToArray();

        Assert.Equal(7, principals.Length);
        Assert.All(principals, p => Assert.StartsWith(Id(Identities, "id-mlpipes-"), p, StringComparison.Ordinal));
    }

    [Fact]
    public void Storage_Account_AllowsOnlyIdentitiesOverHttps()
    {
        var properties = Storage["properties"]!;

        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.True((bool)properties["defaultToOAuthAuthentication"]!);
        Assert.True((bool)properties["supportsHttpsTrafficOnly"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
    }

    [Fact]
    public void Storage_ContainersQueuesAndTables_AreCreated()
    {
        string Last(JsonObject r) => ((string)r["name"]!).Split('/')[^1];

        Assert.Equal(["app-package", "artifacts", "incoming"],
            Full.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").Select(Last).Order(StringComparer.Ordinal));
        Assert.All(Full.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"),
            c => Assert.Equal("None", (string?)c["properties"]!["publicAccess"]));
        Assert.Equal(["trainer-jobs"], Full.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(Last));
        Assert.Equal(["PipelinesHubHistory", "PipelinesHubInstances"],
            Full.OfType("Microsoft.Storage/storageAccounts/tableServices/tables").Select(Last).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FunctionApp_Hosting_IsFlexConsumptionDotnetIsolated10OverHttps()
    {
        var plan = Full.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.True((bool)plan["properties"]!["reserved"]!);

        var properties = FunctionApp["properties"]!;
        Assert.Equal("functionapp,linux", (string?)FunctionApp["kind"]);
        Assert.Equal((string)plan["id"]!, (string?)properties["serverFarmId"]);
        Assert.True((bool)properties["httpsOnly"]!);
        Assert.Equal("1.2", (string?)properties["siteConfig"]!["minTlsVersion"]);
        Assert.Equal("1.2", (string?)properties["siteConfig"]!["scmMinTlsVersion"]);
        Assert.Equal("Disabled", (string?)properties["siteConfig"]!["ftpsState"]);

        var config = properties["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        var deployment = config["deployment"]!["storage"]!;
        Assert.Equal($"[format('{{0}}{{1}}', reference('{(string)Storage["id"]!}', '2025-06-01').primaryEndpoints.blob, 'app-package')]", (string?)deployment["value"]);
        Assert.Equal("UserAssignedIdentity", (string?)deployment["authentication"]!["type"]);
        Assert.Equal(FunctionIdentity, (string?)deployment["authentication"]!["userAssignedIdentityResourceId"]);
        Assert.True(FunctionApp["identity"]!["userAssignedIdentities"]!.AsObject().ContainsKey(FunctionIdentity));

        var publishing = Full.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToArray();
        Assert.Equal(["ftp", "scm"], publishing.Select(p => ((string)p["name"]!).Split('/')[^1]).Order(StringComparer.Ordinal));
        Assert.All(publishing, p => Assert.False((bool)p["properties"]!["allow"]!));
    }

    [Fact]
    public void FunctionApp_AppSettings_ConnectWithTheIdentity()
    {
        var settings = Settings(FunctionApp["properties"]!["siteConfig"]!["appSettings"]!);

        Assert.Equal(StorageName, settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal(ClientIdOf(FunctionIdentity), settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal("PipelinesHub", settings["AzureFunctionsJobHost__extensions__durableTask__hubName"]);
        Assert.Equal("AzureStorage", settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__type"]);
        Assert.Equal("AzureWebJobsStorage", settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName"]);
        Assert.Equal("azureBlob", settings["AzureFunctionsJobHost__extensions__pipelines__artifactStore__type"]);
        Assert.Equal("artifacts", settings["AzureFunctionsJobHost__extensions__pipelines__artifactStore__container"]);
        Assert.Equal("trainer-jobs", settings["AzureFunctionsJobHost__extensions__pipelines__trainerJobs__queueName"]);
        Assert.Equal("0 0 3 * * *", settings["RetrainSchedule"]);
        Assert.Contains("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.True((bool)Full.Single("Microsoft.Insights/components")["properties"]!["DisableLocalAuth"]!);

        // Flex Consumption rejects the worker runtime and extension version settings; Azure Files needs a key.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
        Assert.DoesNotContain("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", settings.Keys);
        AssertNoKeys("function app setting", settings);
    }

    [Fact]
    public void TrainerApp_Environment_ConnectsWithTheIdentity()
    {
        var container = TrainerApp["properties"]!["template"]!["containers"]![0]!;
        var settings = Settings(container["env"]!);

        Assert.Equal(infra.FullTrainerImage, (string?)container["image"]);
        Assert.Equal(StorageName, settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal(ClientIdOf(TrainerIdentity), settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal(ClientIdOf(TrainerIdentity), settings["AZURE_CLIENT_ID"]);
        Assert.Equal("trainer-jobs", settings["AzureFunctionsJobHost__extensions__pipelines__trainerJobs__queueName"]);
        Assert.Equal("PipelinesHub", settings["AzureFunctionsJobHost__extensions__durableTask__hubName"]);
        AssertNoKeys("trainer environment variable", settings);
        Assert.All(container["env"]!.AsArray(), e => Assert.Null(e!["secretRef"]));

        var configuration = TrainerApp["properties"]!["configuration"]!;
        Assert.Null(configuration["secrets"]);
        Assert.Null(configuration["ingress"]);
        var registry = Assert.Single(configuration["registries"]!.AsArray())!;
        Assert.Equal(TrainerIdentity, (string?)registry["identity"]);
        Assert.Null(registry["passwordSecretRef"]);
        var acr = Full.Single("Microsoft.ContainerRegistry/registries")["properties"]!;
        Assert.False((bool)acr["adminUserEnabled"]!);
        Assert.False((bool)acr["anonymousPullEnabled"]!);
    }

    /// <summary>No storage key or SAS is read anywhere in the template: the one <c>listKeys</c> is the Functions host's
    /// blobs-extension key that Event Grid needs to call the blob trigger.</summary>
    [Fact]
    public void Template_KeyFunctions_OnlyReadTheBlobsExtensionKey()
    {
        var text = infra.Build.StandardOutput;

        var calls = ListCall().Matches(text).Select(m => m.Value).ToArray();
        var call = Assert.Single(calls);
        Assert.Contains("/host/default", text[text.IndexOf(call, StringComparison.Ordinal)..][..300], StringComparison.Ordinal);
        Assert.Contains(".systemKeys.blobs_extension", text, StringComparison.Ordinal);
        foreach (var forbidden in new[] { "AccountKey", "listAccountSas", "listServiceSas", "primaryKey", "primarySharedKey", "\"sharedKey\"", "SharedAccessSignature" })
        {
            Assert.DoesNotContain(forbidden, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void BlobTrigger_EventSubscription_CallsTheFunctionForIncomingBlobs()
    {
        var topic = Full.Single("Microsoft.EventGrid/systemTopics");
        Assert.Equal((string)Storage["id"]!, (string?)topic["properties"]!["source"]);

        var subscription = Full.Single("Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]!;
        // [format('https://{0}/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}', <host name>, '<function>', <key>)]
        var endpoint = (string)subscription["destination"]!["properties"]!["endpointUrl"]!;
        Assert.StartsWith("[format('https://{0}/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}', ", endpoint, StringComparison.Ordinal);
        var site = (string)FunctionApp["id"]!;
        Assert.EndsWith($"reference('{site}', '2025-03-01').defaultHostName, '{CompiledInfra.BlobTriggerFunctionName}', "
            + $"listKeys('{site}/host/default', '2025-03-01').systemKeys.blobs_extension)]", endpoint, StringComparison.Ordinal);
        Assert.Equal("/blobServices/default/containers/incoming/", (string?)subscription["filter"]!["subjectBeginsWith"]);
        Assert.Equal(["Microsoft.Storage.BlobCreated"], subscription["filter"]!["includedEventTypes"]!.AsArray().Select(e => (string)e!));
    }

    [Fact]
    public void ShippedParameters_FirstDeployment_LeavesTrainerAppAndSubscriptionOut()
    {
        Assert.Empty(infra.Shipped.OfType("Microsoft.App/containerApps"));
        Assert.Empty(infra.Shipped.OfType("Microsoft.EventGrid/systemTopics/eventSubscriptions"));
        Assert.Single(infra.Shipped.OfType("Microsoft.App/managedEnvironments"));
        Assert.Single(infra.Shipped.OfType("Microsoft.Web/sites"));
    }

    /// <summary>Every resource lands in the parameters' region (the scope passed to the snapshot).</summary>
    [Fact]
    public void Resources_WithLocation_UseTheDeploymentRegion()
    {
        var located = Full.Resources.Where(r => r["location"] is not null).ToArray();

        Assert.True(located.Length >= 10);
        Assert.All(located, r => Assert.Equal(CompiledInfra.Location, (string?)r["location"]));
    }

    private static Dictionary<string, string> Settings(JsonNode list) =>
        list.AsArray().ToDictionary(s => (string)s!["name"]!, s => (string?)s!["value"] ?? string.Empty, StringComparer.Ordinal);

    private static string ClientIdOf(string identityId) => $"[reference('{identityId}', '2024-11-30').clientId]";

    private static void AssertNoKeys(string what, IReadOnlyDictionary<string, string> settings)
    {
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        foreach (var (name, value) in settings)
        {
            foreach (var marker in new[] { "AccountKey=", "SharedAccessSignature=", "UseDevelopmentStorage", "listKeys(", "sig=" })
            {
                Assert.False(value.Contains(marker, StringComparison.OrdinalIgnoreCase), $"{what} {name} holds a key ({marker}): {value}");
            }
        }
    }

    [GeneratedRegex(@"list[A-Za-z]*\(")]
    private static partial Regex ListCall();
}
