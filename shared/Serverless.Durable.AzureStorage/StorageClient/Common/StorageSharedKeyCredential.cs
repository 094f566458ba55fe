using System.Security.Cryptography;
using System.Text;

namespace Serverless.Storage;

/// <summary>
/// An account name and key for SharedKey request signing and SAS generation (named like Azure.Storage's type
/// so a swap to the official SDK is mechanical). The key never appears in exception messages or logs.
/// </summary>
public sealed class StorageSharedKeyCredential
{
    private byte[] _key;

    /// <summary>Creates a credential; <paramref name="accountKey"/> is the base64 key from the portal.</summary>
    public StorageSharedKeyCredential(string accountName, string accountKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountName);
        ArgumentException.ThrowIfNullOrWhiteSpace(accountKey);
        AccountName = accountName;
        _key = DecodeKey(accountKey);
    }

    /// <summary>The storage account name.</summary>
    public string AccountName { get; }

    /// <summary>Replaces the key, for key rotation without rebuilding clients.</summary>
    public void SetAccountKey(string accountKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountKey);
        _key = DecodeKey(accountKey);
    }

    /// <summary>HMAC-SHA256 of <paramref name="message"/> (UTF-8) with the account key, base64-encoded.</summary>
    public string ComputeHmacSha256(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(message)));
    }

    private static byte[] DecodeKey(string accountKey)
    {
        try
        {
            return Convert.FromBase64String(accountKey);
        }
        catch (FormatException)
        {
            throw new ArgumentException("The storage account key is not valid base64.", nameof(accountKey));
        }
    }
}
