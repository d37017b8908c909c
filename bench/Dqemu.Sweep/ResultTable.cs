using System.Text;
using Spectre.Console;

namespace Dqemu.Sweep;

/// <summary>
/// A result table as the sweep and --compare show it: GitHub Markdown for their .md files, and a Spectre.Console table
/// on the terminal. Text columns are left-aligned, numbers right-aligned; the last column holds notes (failures),
/// which the terminal table leaves out (the callers print them below it, where they need not wrap in a cell).
/// </summary>
internal static class ResultTable
{
    /// <summary>The header, the alignment row and one line per row, '|' in cells escaped.</summary>
    public static void AppendMarkdown(StringBuilder sb, IReadOnlyList<string> columns, Func<int, bool> isText, IEnumerable<string[]> rows)
    {
        sb.AppendLine("| " + string.Join(" | ", columns) + " |");
        sb.AppendLine("|" + string.Concat(columns.Select((_, i) => isText(i) ? " --- |" : " ---: |")));
        foreach (var cells in rows) sb.AppendLine("| " + string.Join(" | ", cells.Select(x => x.Replace("|", "\\|"))) + " |");
    }

    /// <summary>
    /// The table without its notes column, cells never wrapped (a narrow terminal scrolls rather than breaking a number
    /// over lines). <paramref name="markupRows"/> are Spectre markup: escape plain text with <see cref="Markup.Escape"/>.
    /// </summary>
    public static void Print(IReadOnlyList<string> columns, Func<int, bool> isText, IEnumerable<string[]> markupRows)
    {
        // a log (not a terminal) gets the whole table on wide lines rather than cells wrapped at 80 columns
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
        var table = new Table().Border(TableBorder.Simple);
        int shown = columns.Count - 1;
        for (int i = 0; i < shown; i++)
            table.AddColumn(new TableColumn(columns[i]) { Alignment = isText(i) ? Justify.Left : Justify.Right, NoWrap = true, Padding = new Padding(0, 0, 1, 0) });
        foreach (var cells in markupRows) table.AddRow(cells.Take(shown).ToArray());
        AnsiConsole.Write(table);
    }
}
