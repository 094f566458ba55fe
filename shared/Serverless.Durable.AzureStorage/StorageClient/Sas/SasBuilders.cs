using System.Globalization;
using System.Text;

namespace Serverless.Storage.Sas;

/// <summary>Account SAS permissions (sp), written in the order the service requires: r w d l a c u p.</summary>
[Flags]
public enum AccountSasPermissions
{
    /// <summary>Read.</summary>
    Read = 1,

    /// <summary>Write.</summary>
    Write = 2,

    /// <summary>Delete.</summary>
    Delete = 4,

    /// <summary>List.</summary>
    List = 8,

    /// <summary>Add (queue messages, append blocks).</summary>
    Add = 16,

    /// <summary>Create.</summary>
    Create = 32,

    /// <summary>Update (queue messages).</summary>
    Update = 64,

    /// <summary>Process (receive/delete queue messages).</summary>
    Process = 128,

    /// <summary>Everything above.</summary>
    All = Read | Write | Delete | List | Add | Create | Update | Process,
}

/// <summary>Services an account SAS covers (ss).</summary>
[Flags]
public enum AccountSasServices
{
    /// <summary>Blob service.</summary>
    Blobs = 1,

    /// <summary>Queue service.</summary>
    Queues = 2,

    /// <summary>Table service.</summary>
    Tables = 4,

    /// <summary>All.</summary>
    All = Blobs | Queues | Tables,
}

/// <summary>Resource types an account SAS covers (srt).</summary>
[Flags]
public enum AccountSasResourceTypes
{
    /// <summary>Service-level operations (list containers/queues).</summary>
    Service = 1,

    /// <summary>Containers and queues.</summary>
    Container = 2,

    /// <summary>Blobs and messages.</summary>
    Object = 4,

    /// <summary>All.</summary>
    All = Service | Container | Object,
}

/// <summary>Blob SAS permissions, in the service's order r a c w d.</summary>
[Flags]
public enum BlobSasPermissions
{
    /// <summary>Read.</summary>
    Read = 1,

    /// <summary>Add.</summary>
    Add = 2,

    /// <summary>Create.</summary>
    Create = 4,

    /// <summary>Write.</summary>
    Write = 8,

    /// <summary>Delete.</summary>
    Delete = 16,

    /// <summary>All.</summary>
    All = Read | Add | Create | Write | Delete,
}

/// <summary>Container SAS permissions, in the service's order r a c w d l.</summary>
[Flags]
public enum BlobContainerSasPermissions
{
    /// <summary>Read.</summary>
    Read = 1,

    /// <summary>Add.</summary>
    Add = 2,

    /// <summary>Create.</summary>
    Create = 4,

    /// <summary>Write.</summary>
    Write = 8,

    /// <summary>Delete.</summary>
    Delete = 16,

    /// <summary>List.</summary>
    List = 32,

    /// <summary>All.</summary>
    All = Read | Add | Create | Write | Delete | List,
}

/// <summary>Which protocols a SAS allows (spr).</summary>
public enum SasProtocol
{
    /// <summary>Not restricted (omitted).</summary>
    None,

    /// <summary>https only.</summary>
    Https,

    /// <summary>https and http.</summary>
    HttpsAndHttp,
}

/// <summary>A signed SAS query string (without '?'); <see cref="ToString"/> gives it.</summary>
public sealed class SasQueryParameters
{
    private readonly string _query;

    internal SasQueryParameters(IEnumerable<(string Name, string? Value)> parameters) =>
        _query = string.Join('&', parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)));

    /// <summary>The query string, e.g. <c>sv=...&amp;se=...&amp;sig=...</c>.</summary>
    public override string ToString() => _query;

    internal static string FormatTime(DateTimeOffset? t) =>
        t is { } v ? v.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : string.Empty;

    internal static string Letters<T>(T value, (T Flag, char Letter)[] order)
        where T : struct, Enum
    {
        var sb = new StringBuilder();
        foreach (var (flag, letter) in order)
        {
            if (value.HasFlag(flag)) sb.Append(letter);
        }
        return sb.ToString();
    }

    internal static string ProtocolText(SasProtocol p) => p switch { SasProtocol.Https => "https", SasProtocol.HttpsAndHttp => "https,http", _ => string.Empty };
}

/// <summary>
/// Builds an account SAS (string-to-sign for version 2020-12-06 and later:
/// account\nsp\nss\nsrt\nst\nse\nsip\nspr\nsv\nses\n), covering blobs and/or queues.
/// </summary>
public sealed class AccountSasBuilder(AccountSasPermissions permissions, DateTimeOffset expiresOn, AccountSasServices services, AccountSasResourceTypes resourceTypes)
{
    /// <summary>Permissions.</summary>
    public AccountSasPermissions Permissions { get; set; } = permissions;

    /// <summary>Expiry.</summary>
    public DateTimeOffset ExpiresOn { get; set; } = expiresOn;

    /// <summary>Optional start (omit to avoid clock-skew failures).</summary>
    public DateTimeOffset? StartsOn { get; set; }

    /// <summary>Services.</summary>
    public AccountSasServices Services { get; set; } = services;

    /// <summary>Resource types.</summary>
    public AccountSasResourceTypes ResourceTypes { get; set; } = resourceTypes;

    /// <summary>Allowed protocols.</summary>
    public SasProtocol Protocol { get; set; }

    /// <summary>Signed version (sv).</summary>
    public string Version { get; set; } = StorageClientDefaults.ApiVersion;

    /// <summary>Signs with the account key.</summary>
    public SasQueryParameters ToSasQueryParameters(StorageSharedKeyCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var sp = SasQueryParameters.Letters(Permissions, [
            (AccountSasPermissions.Read, 'r'), (AccountSasPermissions.Write, 'w'), (AccountSasPermissions.Delete, 'd'), (AccountSasPermissions.List, 'l'),
            (AccountSasPermissions.Add, 'a'), (AccountSasPermissions.Create, 'c'), (AccountSasPermissions.Update, 'u'), (AccountSasPermissions.Process, 'p')]);
        var ss = SasQueryParameters.Letters(Services, [(AccountSasServices.Blobs, 'b'), (AccountSasServices.Queues, 'q'), (AccountSasServices.Tables, 't')]);
        var srt = SasQueryParameters.Letters(ResourceTypes, [(AccountSasResourceTypes.Service, 's'), (AccountSasResourceTypes.Container, 'c'), (AccountSasResourceTypes.Object, 'o')]);
        var st = SasQueryParameters.FormatTime(StartsOn);
        var se = SasQueryParameters.FormatTime(ExpiresOn);
        var spr = SasQueryParameters.ProtocolText(Protocol);
        var toSign = string.Join('\n', credential.AccountName, sp, ss, srt, st, se, string.Empty, spr, Version, string.Empty, string.Empty);
        var sig = credential.ComputeHmacSha256(toSign);
        return new SasQueryParameters([("sv", Version), ("ss", ss), ("srt", srt), ("sp", sp), ("st", st), ("se", se), ("spr", spr), ("sig", sig)]);
    }
}

/// <summary>
/// Builds a blob or container service SAS (string-to-sign for version 2020-12-06 and later:
/// sp\nst\nse\n/blob/account/container[/blob]\nsi\nsip\nspr\nsv\nsr\nsnapshot\nses\nrscc\nrscd\nrsce\nrscl\nrsct).
/// </summary>
public sealed class BlobSasBuilder
{
    /// <summary>Container name.</summary>
    public string BlobContainerName { get; set; } = string.Empty;

    /// <summary>Blob name (unencoded); empty for a container SAS.</summary>
    public string BlobName { get; set; } = string.Empty;

    /// <summary>"b" for a blob, "c" for a container (default: derived from <see cref="BlobName"/>).</summary>
    public string? Resource { get; set; }

    /// <summary>Expiry.</summary>
    public DateTimeOffset ExpiresOn { get; set; }

    /// <summary>Optional start.</summary>
    public DateTimeOffset? StartsOn { get; set; }

    /// <summary>Stored access policy id (si), optional.</summary>
    public string? Identifier { get; set; }

    /// <summary>Allowed protocols.</summary>
    public SasProtocol Protocol { get; set; }

    /// <summary>Signed version (sv).</summary>
    public string Version { get; set; } = StorageClientDefaults.ApiVersion;

    /// <summary>The permission letters (sp).</summary>
    public string Permissions { get; private set; } = string.Empty;

    /// <summary>Sets blob permissions.</summary>
    public void SetPermissions(BlobSasPermissions permissions) =>
        Permissions = SasQueryParameters.Letters(permissions, [
            (BlobSasPermissions.Read, 'r'), (BlobSasPermissions.Add, 'a'), (BlobSasPermissions.Create, 'c'), (BlobSasPermissions.Write, 'w'), (BlobSasPermissions.Delete, 'd')]);

    /// <summary>Sets container permissions.</summary>
    public void SetPermissions(BlobContainerSasPermissions permissions) =>
        Permissions = SasQueryParameters.Letters(permissions, [
            (BlobContainerSasPermissions.Read, 'r'), (BlobContainerSasPermissions.Add, 'a'), (BlobContainerSasPermissions.Create, 'c'),
            (BlobContainerSasPermissions.Write, 'w'), (BlobContainerSasPermissions.Delete, 'd'), (BlobContainerSasPermissions.List, 'l')]);

    /// <summary>Signs with the account key.</summary>
    public SasQueryParameters ToSasQueryParameters(StorageSharedKeyCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentException.ThrowIfNullOrEmpty(BlobContainerName);
        var sr = Resource ?? (string.IsNullOrEmpty(BlobName) ? "c" : "b");
        var canonical = $"/blob/{credential.AccountName}/{BlobContainerName}" + (sr == "b" ? "/" + BlobName : string.Empty);
        var st = SasQueryParameters.FormatTime(StartsOn);
        var se = SasQueryParameters.FormatTime(ExpiresOn);
        var spr = SasQueryParameters.ProtocolText(Protocol);
        var toSign = string.Join('\n', Permissions, st, se, canonical, Identifier ?? string.Empty, string.Empty, spr, Version, sr,
            string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty);
        var sig = credential.ComputeHmacSha256(toSign);
        return new SasQueryParameters([("sv", Version), ("st", st), ("se", se), ("sr", sr), ("sp", Permissions), ("si", Identifier), ("spr", spr), ("sig", sig)]);
    }
}
