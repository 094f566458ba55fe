using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Serverless.Infra.Tests;

/// <summary>
/// What <c>bicep snapshot</c> predicts a deployment creates: every resource with its expressions evaluated for one
/// parameters file, a fake subscription and resource group (loops expanded, conditions applied, resource ids
/// resolved). Values known only at deployment (an identity's principal id) stay ARM expressions such as
/// <c>[reference('/subscriptions/.../userAssignedIdentities/id-x', '2024-11-30').principalId]</c>.
/// </summary>
internal sealed partial class DeploymentSnapshot
{
    public DeploymentSnapshot(JsonObject snapshot, string text)
    {
        Root = snapshot;
        Text = text;
        Resources = (snapshot["predictedResources"] as JsonArray ?? throw new InvalidDataException("snapshot without predictedResources"))
            .Select(r => r!.AsObject())
            .ToArray();
    }

    public JsonObject Root { get; }

    /// <summary>The snapshot file as written, for searches over every value.</summary>
    public string Text { get; }

    public IReadOnlyList<JsonObject> Resources { get; }

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    /// <summary>The one resource of <paramref name="type"/>; fails listing what there is otherwise.</summary>
    public JsonObject Single(string type)
    {
        var found = OfType(type).ToArray();
        Assert.True(found.Length == 1, $"expected one {type}, found {found.Length}: {string.Join(", ", found.Select(r => (string?)r["name"]))}");
        return found[0];
    }

    /// <summary>The resource whose name (last segment) is <paramref name="name"/>.</summary>
    public JsonObject Named(string type, string name)
    {
        var found = OfType(type).Where(r => ((string)r["name"]!).Split('/')[^1] == name).ToArray();
        Assert.True(found.Length == 1, $"expected one {type} named {name}, found {found.Length}");
        return found[0];
    }

    /// <summary>The principal a role assignment grants to: an identity's resource id when the principal id is
    /// <c>reference(identityId).principalId</c>, else the literal object id.</summary>
    public static string PrincipalOf(JsonObject roleAssignment)
    {
        var principal = (string)roleAssignment["properties"]!["principalId"]!;
        var match = ReferencePrincipal().Match(principal);
        return match.Success ? match.Groups["id"].Value : principal;
    }

    /// <summary>The scope a role assignment (an extension resource) applies to, from its resource id.</summary>
    public static string ScopeOf(JsonObject roleAssignment)
    {
        var id = (string)roleAssignment["id"]!;
        const string marker = "/providers/Microsoft.Authorization/roleAssignments/";
        var at = id.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        Assert.True(at > 0, $"role assignment id without a scope: {id}");
        return id[..at];
    }

    [GeneratedRegex(@"^\[reference\('(?<id>[^']+)', '[^']+'\)\.principalId\]$")]
    private static partial Regex ReferencePrincipal();
}
