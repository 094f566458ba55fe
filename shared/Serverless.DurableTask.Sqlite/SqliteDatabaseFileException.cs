namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// The database file cannot be used by this provider: it is not a SQLite database, it belongs to another application,
/// or it was written by a newer version of this provider. The file is left exactly as it was: the provider reads the
/// file's header and schema before it writes anything (it does not even switch the file to WAL mode).
/// </summary>
public sealed class SqliteDatabaseFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public SqliteDatabaseFileException(string filePath, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The full path of the file that was refused, so that a caller can show or move it.</summary>
    public string FilePath { get; }
}
