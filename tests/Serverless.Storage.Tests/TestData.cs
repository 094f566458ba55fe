namespace Serverless.Storage.Tests;

internal static class TestData
{
    /// <summary>Unique, valid container/queue name (3-63 lower-case letters, digits, dashes).</summary>
    public static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)];

    public static byte[] Bytes(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
