using System.Globalization;

namespace Serverless.Ml.Components.Tests;

/// <summary>Penguins with planted anomalies: each variant changes one thing of the real file.</summary>
internal static class PenguinVariants
{
    private static readonly string[] Lines = File.ReadAllLines(TestData.Penguins);

    private static string[] Header => Lines[0].Split(',');

    private static IEnumerable<string[]> Rows => Lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','));

    private static int Column(string name) => Array.IndexOf(Header, $"\"{name}\"");

    private static string Join(IEnumerable<string[]> rows, string[]? header = null) =>
        string.Join('\n', new[] { string.Join(',', header ?? Header) }.Concat(rows.Select(r => string.Join(',', r)))) + "\n";

    public static string Original => Join(Rows);

    /// <summary>Three rows of a species the schema's string domain does not know.</summary>
    public static string NewCategory => Join(Rows.Select((r, i) => i < 3 ? r.Select((v, c) => c == Column("species") ? "\"Dodo\"" : v).ToArray() : r));

    /// <summary>The island column removed.</summary>
    public static string MissingColumn
    {
        get
        {
            var drop = Column("island");
            return Join(Rows.Select(r => r.Where((_, c) => c != drop).ToArray()), Header.Where((_, c) => c != drop).ToArray());
        }
    }

    /// <summary>The year written as text ("y2007"): INT becomes STRING.</summary>
    public static string TypeChange => Join(Rows.Select(r => r.Select((v, c) => c == Column("year") ? $"y{v}" : v).ToArray()));

    /// <summary>Body mass shifted up by 2,500 g: a different distribution with the same schema.</summary>
    public static string ShiftedMass => Join(Rows.Select(r => r.Select((v, c) =>
        c == Column("body_mass_g") && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var g) ? (g + 2500).ToString(CultureInfo.InvariantCulture) : v).ToArray()));
}
