using System.Globalization;

namespace Serverless.Pipelines;

/// <summary>
/// Quotes user input in error messages by a bounded prefix, so a 25 MB parameter yields a 200-character error, not a
/// 26 MB response: errors name the place (file, line, node, field) and show only the start of the offending value.
/// </summary>
public static class ErrorText
{
    /// <summary>The default number of characters quoted.</summary>
    public const int DefaultMaxChars = 120;

    /// <summary>
    /// <c>'text'</c>, or <c>'first N characters...' (L characters)</c> when longer than <paramref name="maxChars"/>; control
    /// characters are shown escaped so a quoted value cannot forge extra log lines.
    /// </summary>
    public static string Quote(string? text, int maxChars = DefaultMaxChars)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        text ??= string.Empty;
        var shown = text.Length > maxChars ? text[..maxChars] : text;
        var escaped = string.Concat(shown.Select(c => char.IsControl(c) ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") : c.ToString()));
        return text.Length > maxChars
            ? string.Create(CultureInfo.InvariantCulture, $"'{escaped}...' ({text.Length} characters)")
            : $"'{escaped}'";
    }

    /// <summary>
    /// <paramref name="text"/> cut to <paramref name="maxChars"/> characters with <c>...</c> appended when longer (for
    /// node ids and field paths in errors, which are shown unquoted); null stays null.
    /// </summary>
    public static string? Clip(string? text, int maxChars = 160)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        return text is null || text.Length <= maxChars ? text : text[..maxChars] + "...";
    }
}
